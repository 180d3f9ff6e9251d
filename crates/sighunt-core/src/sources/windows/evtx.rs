//! Binary EVTX files, read with the `evtx` crate chunk by chunk (64 KiB each, the
//! only unit the format allows), records in the order Windows reads them.
//!
//! Rendering a record is the expensive part, and almost every record in a Security
//! or Sysmon log is irrelevant here. The event id is read from the record's template
//! substitutions first (the standard System template, recognised by the types of its
//! substitutions, has `EventID` at index 3; a record of any other layout is read
//! anyway); a record with a relevant id is built from its template definition and
//! values ([`TemplateReader`]), or, where that reader does not handle the template,
//! rendered to XML and parsed like XML input.
//!
//! The chunk loop is the one EVTX loop of sighunt: [`read_evtx`] maps records into
//! events, and `--profile seed` reads every record's XML through the same loop
//! ([`read_evtx_records`]), each as an [`EvtxVisitor`].

use std::fs::File;
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::sync::Arc;

use evtx::binxml::BinXmlTemplateValues;
use evtx::binxml::value_variant::BinXmlValue;
use evtx::{EvtxChunkData, EvtxChunkHeader, EvtxParser, EvtxRecord, ParserSettings};

use super::evtx_records::{RawRecord, chunk_records};
use super::evtx_template::{RecordRead, TemplateReader};
use super::map::{Mapper, is_relevant_event_id};
use super::{FORMAT_EVTX, WinEvent, parse_event_xml};
use crate::event::Position;
use crate::input::{InputError, Payload};
use crate::sources::EventSink;

const FILE_HEADER_SIZE: usize = 4096;
const CHUNK_SIZE: usize = 65536;
const EVTX_MAGIC: &[u8; 8] = b"ElfFile\0";

/// Reads an EVTX file (seekable, in Windows' record order) or stream (in file
/// order, e.g. when it was compressed) into `sink`.
///
/// A file is a 4096-byte header and whole 64 KiB chunks: an input that ends inside
/// the header or inside a chunk was cut short (a copy interrupted, a disk full), and
/// is reported with the chunk and byte offset where it ends, after its complete
/// chunks have been read. An input that ends on a chunk boundary cannot be told from
/// a shorter log, and is read without an error.
pub fn read_evtx(name: &Arc<str>, payload: Payload, sink: &mut dyn EventSink) {
    read_evtx_via(name, payload, sink, true);
}

/// [`read_evtx`]; `direct`: records read straight from the chunks where they can be
/// (without: every record through the evtx crate, as before, to compare with).
pub(super) fn read_evtx_via(
    name: &Arc<str>,
    payload: Payload,
    sink: &mut dyn EventSink,
    direct: bool,
) {
    let mut visitor = MappingVisitor {
        name: name.clone(),
        mapper: Mapper::new(name.clone(), FORMAT_EVTX),
        templates: TemplateReader::default(),
        direct,
        sink,
    };
    read_with(name, payload, &mut visitor);
    visitor.mapper.finish(visitor.sink);
}

/// What the chunk loop hands each record and each error to.
pub trait EvtxVisitor {
    /// A new chunk starts (its records follow).
    fn chunk_start(&mut self) {}
    /// One record of chunk `chunk_no` (1-based), not yet rendered.
    fn record(&mut self, record: EvtxRecord<'_>, chunk_no: u64);
    /// One record of a chunk whose record headers all read well, before the evtx
    /// crate reads it: `chunk` is the whole chunk. `false` hands this record to
    /// [`EvtxVisitor::record`] (the crate); the default.
    fn raw_record(&mut self, chunk: &[u8], record: &RawRecord) -> bool {
        let _ = (chunk, record);
        false
    }
    /// A chunk or record that could not be read (named in the error).
    fn error(&mut self, error: InputError);
}

/// Reads an EVTX input as [`read_evtx`] does (same order, same errors), rendering
/// every record as XML: `each` gets the XML and the record id, `on_error` the errors.
pub fn read_evtx_records(
    name: &Arc<str>,
    payload: Payload,
    on_error: &mut dyn FnMut(InputError),
    each: &mut dyn FnMut(&str, u64),
) {
    struct Rendering<'a> {
        name: Arc<str>,
        on_error: &'a mut dyn FnMut(InputError),
        each: &'a mut dyn FnMut(&str, u64),
    }
    impl EvtxVisitor for Rendering<'_> {
        fn record(&mut self, record: EvtxRecord<'_>, chunk_no: u64) {
            match record.into_xml() {
                Ok(r) => (self.each)(&r.data, r.event_record_id),
                Err(e) => (self.on_error)(InputError::new(
                    &self.name,
                    Some(format!("chunk {chunk_no}")),
                    format!("bad record: {e}; skipped"),
                )),
            }
        }
        fn error(&mut self, error: InputError) {
            (self.on_error)(error);
        }
    }
    let mut visitor = Rendering {
        name: name.clone(),
        on_error,
        each,
    };
    read_with(name, payload, &mut visitor);
}

/// The chunk loop: a seekable file in Windows' record order, a stream in file order.
pub fn read_with(name: &Arc<str>, payload: Payload, visitor: &mut dyn EvtxVisitor) {
    let mut reader = ChunkReader {
        name: name.clone(),
        settings: Arc::new(ParserSettings::new().indent(false)),
        chunk_no: 0,
    };
    match payload {
        Payload::File(file) => reader.file(file, visitor),
        Payload::Stream(stream) => reader.stream(stream, visitor),
    }
}

/// The hunt's visitor: records of relevant ids built (or rendered and parsed) and
/// mapped.
struct MappingVisitor<'a> {
    name: Arc<str>,
    mapper: Mapper,
    templates: TemplateReader,
    /// Whether records are read from the chunk ([`EvtxVisitor::raw_record`]).
    direct: bool,
    sink: &'a mut dyn EventSink,
}

impl EvtxVisitor for MappingVisitor<'_> {
    fn chunk_start(&mut self) {
        self.templates.new_chunk();
    }

    fn raw_record(&mut self, chunk: &[u8], record: &RawRecord) -> bool {
        if !self.direct {
            return false;
        }
        match self
            .templates
            .read_record(chunk, record.binxml.clone(), is_relevant_event_id)
        {
            RecordRead::Skipped => true,
            RecordRead::Event(ev) => {
                let position = Position::Record(ev.record_id.unwrap_or(record.event_record_id));
                self.mapper.map(ev, position, self.sink);
                true
            }
            RecordRead::Crate => false,
        }
    }

    fn record(&mut self, record: EvtxRecord<'_>, _chunk_no: u64) {
        let instances = record.template_instances().ok();
        let values = instances
            .as_deref()
            .and_then(|i| i.first())
            .map(|i| &i.values);
        if values
            .and_then(|v| standard_layout_event_id(v))
            .is_some_and(|id| !is_relevant_event_id(id))
        {
            return;
        }
        let id = record.event_record_id;
        if let Some(ev) = instances
            .as_deref()
            .and_then(|i| build_from_template(&mut self.templates, &record, i))
        {
            let position = Position::Record(ev.record_id.unwrap_or(id));
            self.mapper.map(ev, position, self.sink);
            return;
        }
        let rendered = match record.into_xml_bytes() {
            Ok(r) => r,
            Err(e) => {
                self.sink.error(InputError::new(
                    &self.name,
                    Some(format!("record {id}")),
                    format!("record not renderable: {e}; skipped"),
                ));
                return;
            }
        };
        match parse_event_xml(&rendered.data) {
            Ok(ev) => {
                let position = Position::Record(ev.record_id.unwrap_or(id));
                self.mapper.map(ev, position, self.sink);
            }
            Err(e) => {
                self.sink
                    .error(InputError::new(&self.name, Some(format!("record {id}")), e));
            }
        }
    }
    fn error(&mut self, error: InputError) {
        self.sink.error(error);
    }
}

/// What is wrong with a file header of which only `head` (at most 4096 bytes) could
/// be read, if anything.
fn header_problem(head: &[u8]) -> Option<String> {
    let magic_len = head.len().min(EVTX_MAGIC.len());
    if head[..magic_len] != EVTX_MAGIC[..magic_len] {
        return Some("not an EVTX file (bad header magic)".to_string());
    }
    match head.len() {
        0 => Some("empty: no EVTX file header".to_string()),
        n if n < FILE_HEADER_SIZE => Some(format!(
            "truncated EVTX file: it ends at byte offset {n}, inside its \
             {FILE_HEADER_SIZE}-byte file header; no chunk to read"
        )),
        _ => None,
    }
}

/// The message for a last chunk of which only `have` bytes are there: chunk
/// `chunk_no` (1-based) starts at `offset`.
fn truncated_chunk(chunk_no: u64, offset: u64, have: u64) -> String {
    format!(
        "truncated EVTX file: chunk {chunk_no} at byte offset {offset} has only {have} of \
         its {CHUNK_SIZE} bytes (the input ends at byte offset {})",
        offset + have
    )
}

/// `e` and the errors under it, each once: the evtx crate's outer errors often say
/// only "failed to parse" and keep the reason in their source.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// Whether `bytes` are all zero (an empty chunk of a dirty file), a block at a time.
fn all_zero(bytes: &[u8]) -> bool {
    bytes
        .chunks(256)
        .all(|block| block.iter().fold(0u8, |acc, &b| acc | b) == 0)
}

/// The chunks of a seekable EVTX file in the evtx crate's record order
/// (`EvtxParser::chunks`): from the chunk whose header names the lowest record id to
/// the end of the file, then from the first chunk up to it; empty (all-zero)
/// chunks are passed over, and the walk ends at the first chunk past the file's
/// whole chunks that cannot be read.
struct FileChunks<'f> {
    file: &'f mut File,
    /// Whole chunks after the file header.
    count: u64,
    next: u64,
    oldest: u64,
    wrapped: bool,
    /// Where the file is now (a chunk read right after the last one needs no seek).
    at: Option<u64>,
    /// The buffer of the last chunk, handed back for the next one.
    spare: Vec<u8>,
}

impl<'f> FileChunks<'f> {
    fn new(file: &'f mut File, body: u64) -> Self {
        let count = body / CHUNK_SIZE as u64;
        let mut chunks = FileChunks {
            file,
            count,
            next: 0,
            oldest: 0,
            wrapped: false,
            at: None,
            spare: Vec::new(),
        };
        chunks.oldest = chunks.oldest_chunk();
        chunks.next = chunks.oldest;
        chunks
    }

    /// The chunk whose header names the lowest record id (a header with a reversed
    /// range says nothing), as the crate finds it.
    fn oldest_chunk(&mut self) -> u64 {
        let mut oldest = (u64::MAX, 0);
        let mut header = [0; 512];
        for number in 0..self.count {
            let offset = FILE_HEADER_SIZE as u64 + number * CHUNK_SIZE as u64;
            if self.file.seek(SeekFrom::Start(offset)).is_err()
                || self.file.read_exact(&mut header).is_err()
            {
                break;
            }
            if let Ok(chunk) = EvtxChunkHeader::from_bytes(&header)
                && chunk.first_event_record_id <= chunk.last_event_record_id
                && chunk.first_event_record_id < oldest.0
            {
                oldest = (chunk.first_event_record_id, number);
            }
        }
        self.at = None;
        oldest.1
    }

    /// A chunk's buffer, for the next chunk.
    fn give_back(&mut self, buffer: Vec<u8>) {
        self.spare = buffer;
    }

    /// The next chunk in record order and its number (0-based); an unreadable chunk
    /// is the message that says why.
    fn next_chunk(&mut self) -> Option<(Result<EvtxChunkData, String>, u64)> {
        loop {
            let end = if self.wrapped { self.oldest } else { u64::MAX };
            while self.next < end {
                let number = self.next;
                match self.read(number) {
                    Err(e) => {
                        // Past the whole chunks: the end of the file.
                        if number >= self.count {
                            break;
                        }
                        self.next = number.checked_add(1)?;
                        return Some((Err(e), number));
                    }
                    Ok(None) => self.next = number.checked_add(1)?,
                    Ok(Some(chunk)) => {
                        self.next = number.checked_add(1)?;
                        return Some((Ok(chunk), number));
                    }
                }
            }
            if self.wrapped || self.oldest == 0 {
                return None;
            }
            self.wrapped = true;
            self.next = 0;
        }
    }

    /// Chunk `number`: `None` when it is empty.
    fn read(&mut self, number: u64) -> Result<Option<EvtxChunkData>, String> {
        let offset = FILE_HEADER_SIZE as u64 + number * CHUNK_SIZE as u64;
        let mut buf = std::mem::take(&mut self.spare);
        buf.resize(CHUNK_SIZE, 0);
        if self.at != Some(offset) {
            self.at = None;
            self.file
                .seek(SeekFrom::Start(offset))
                .map_err(|e| format!("failed to seek to chunk: {e}"))?;
        }
        self.at = None;
        let mut have = 0;
        while have < CHUNK_SIZE {
            match self.file.read(&mut buf[have..]) {
                Ok(0) => break,
                Ok(n) => have += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("read error at or after byte offset {offset}: {e}")),
            }
        }
        if have < CHUNK_SIZE {
            return Err("incomplete chunk".to_string());
        }
        self.at = Some(offset + CHUNK_SIZE as u64);
        if all_zero(&buf) {
            self.spare = buf;
            return Ok(None);
        }
        EvtxChunkData::new(buf, false)
            .map(Some)
            .map_err(|e| error_chain(&e))
    }
}

struct ChunkReader {
    name: Arc<str>,
    settings: Arc<ParserSettings>,
    chunk_no: u64,
}

impl ChunkReader {
    /// A seekable file, chunks in record order (from the oldest, wrapping around).
    fn file(&mut self, mut file: File, sink: &mut dyn EvtxVisitor) {
        let len = match file.metadata() {
            Ok(m) => m.len(),
            Err(e) => {
                sink.error(InputError::new(
                    &self.name,
                    None,
                    format!("EVTX file unreadable: cannot read its length: {e}"),
                ));
                return;
            }
        };
        if len < FILE_HEADER_SIZE as u64 {
            let mut head = Vec::with_capacity(FILE_HEADER_SIZE);
            let read = file
                .rewind()
                .and_then(|()| (&mut file).take(len).read_to_end(&mut head));
            let message = match read {
                Ok(_) => header_problem(&head).unwrap_or_else(|| {
                    format!("truncated EVTX file: only {len} bytes, shorter than its header")
                }),
                Err(e) => format!("EVTX header unreadable: {e}"),
            };
            sink.error(InputError::new(&self.name, None, message));
            return;
        }
        // The parser reads the header from where the file is.
        if let Err(e) = file.rewind() {
            sink.error(InputError::new(
                &self.name,
                None,
                format!("EVTX file unreadable: {e}"),
            ));
            return;
        }
        // The crate reads the file header (and says what is wrong with it); the
        // chunks are read here, in the crate's order, into one reused buffer: the
        // crate's loop allocates a zeroed 64 KiB `Vec` per chunk and scans an empty
        // chunk byte by byte.
        let header_block = match EvtxParser::from_read_seek(&mut file) {
            Ok(parser) => u64::from(parser.header().header_block_size),
            Err(e) => {
                sink.error(InputError::new(
                    &self.name,
                    None,
                    format!("not a readable EVTX file: {}", error_chain(&e)),
                ));
                return;
            }
        };
        let mut chunks = FileChunks::new(&mut file, len.saturating_sub(header_block));
        while let Some((chunk, number)) = chunks.next_chunk() {
            self.chunk_no = number.saturating_add(1);
            match chunk {
                Ok(mut data) => {
                    data.number = Some(number);
                    self.chunk(&mut data, sink);
                    chunks.give_back(data.data);
                }
                Err(message) => self.chunk_error(message, sink),
            }
        }
        let body = len - FILE_HEADER_SIZE as u64;
        let (whole, rest) = (body / CHUNK_SIZE as u64, body % CHUNK_SIZE as u64);
        if rest != 0 {
            self.chunk_no = whole + 1;
            let offset = FILE_HEADER_SIZE as u64 + whole * CHUNK_SIZE as u64;
            self.chunk_error(truncated_chunk(self.chunk_no, offset, rest), sink);
        }
    }

    /// A stream (e.g. decompressed), chunks in file order.
    fn stream(&mut self, mut stream: Box<dyn BufRead + Send>, sink: &mut dyn EvtxVisitor) {
        let mut header = Vec::with_capacity(FILE_HEADER_SIZE);
        if let Err(e) = (&mut stream)
            .take(FILE_HEADER_SIZE as u64)
            .read_to_end(&mut header)
        {
            sink.error(InputError::new(
                &self.name,
                None,
                format!("EVTX header unreadable: {e}"),
            ));
            return;
        }
        if let Some(problem) = header_problem(&header) {
            sink.error(InputError::new(&self.name, None, problem));
            return;
        }
        loop {
            let offset = FILE_HEADER_SIZE as u64 + self.chunk_no * CHUNK_SIZE as u64;
            let mut buf = Vec::with_capacity(CHUNK_SIZE);
            let read = (&mut stream).take(CHUNK_SIZE as u64).read_to_end(&mut buf);
            if matches!(read, Ok(0)) {
                break;
            }
            self.chunk_no += 1;
            match read {
                Ok(n) if n < CHUNK_SIZE => {
                    self.chunk_error(truncated_chunk(self.chunk_no, offset, n as u64), sink);
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    self.chunk_error(
                        format!(
                            "read error at or after byte offset {offset}: {e}; \
                             rest of this input skipped"
                        ),
                        sink,
                    );
                    break;
                }
            }
            // Dirty files have zeroed chunks between real ones.
            if all_zero(&buf) {
                continue;
            }
            match EvtxChunkData::new(buf, false) {
                Ok(mut data) => self.chunk(&mut data, sink),
                Err(e) => self.chunk_error(error_chain(&e), sink),
            }
        }
    }

    fn chunk_error(&self, message: String, sink: &mut dyn EvtxVisitor) {
        sink.error(InputError::new(
            &self.name,
            Some(format!("chunk {}", self.chunk_no)),
            format!("{message}; chunk skipped"),
        ));
    }

    /// Reads one chunk. A panic inside the third-party parser (a bug met on hostile
    /// input) costs that chunk, not the run.
    fn chunk(&mut self, data: &mut EvtxChunkData, sink: &mut dyn EvtxVisitor) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.chunk_records(data, sink)
        }));
        if outcome.is_err() {
            self.chunk_error("the EVTX parser failed on this chunk".to_string(), sink);
        }
    }

    fn chunk_records(&mut self, data: &mut EvtxChunkData, sink: &mut dyn EvtxVisitor) {
        // Records read straight from the chunk while the visitor can; the crate reads
        // a chunk whose record headers do not all read well, and each record the
        // visitor hands back (the records after it are read straight again).
        let records = chunk_records(data);
        let mut done = 0;
        if let Some(records) = &records {
            sink.chunk_start();
            done = records
                .iter()
                .take_while(|r| sink.raw_record(&data.data, r))
                .count();
            if done == records.len() {
                return;
            }
        }
        let mut chunk = match data.parse(self.settings.clone()) {
            Ok(c) => c,
            Err(e) => {
                self.chunk_error(e.to_string(), sink);
                return;
            }
        };
        let bytes: &[u8] = chunk.data;
        let Some(records) = records else {
            sink.chunk_start();
            for record in chunk.iter() {
                self.crate_record(record, sink);
            }
            return;
        };
        // Without a damaged record header the crate yields one item per record, in
        // the order walked above: its iterator is kept in step (the records read
        // straight are built by it too, and dropped).
        let mut crate_records = chunk.iter();
        let mut crate_at = 0;
        let mut at = done;
        while at < records.len() {
            while crate_at < at {
                crate_records.next();
                crate_at += 1;
            }
            let Some(record) = crate_records.next() else {
                return;
            };
            crate_at += 1;
            self.crate_record(record, sink);
            at += 1;
            while at < records.len() && sink.raw_record(bytes, &records[at]) {
                at += 1;
            }
        }
    }

    /// One record as the crate reads it.
    fn crate_record(
        &self,
        record: Result<EvtxRecord<'_>, evtx::err::EvtxError>,
        sink: &mut dyn EvtxVisitor,
    ) {
        match record {
            Ok(r) => sink.record(r, self.chunk_no),
            Err(e) => sink.error(InputError::new(
                &self.name,
                Some(format!("chunk {}", self.chunk_no)),
                format!("bad record: {e}; skipped"),
            )),
        }
    }
}

/// The event id of a record written with the standard System template, without
/// rendering it; `None` when the record does not have that layout.
///
/// The layout is recognised by the types of its substitutions (Level, Opcode: u8;
/// Task, EventID: u16; Qualifiers: null or u16; Keywords: hex64; TimeCreated:
/// FILETIME; EventRecordID: u64 at index 10), not by comparing the record id with the
/// record header's: exported and filtered logs renumber the headers.
#[cfg(test)]
pub(super) fn standard_event_id(record: &EvtxRecord<'_>) -> Option<u32> {
    let instances = record.template_instances().ok()?;
    standard_layout_event_id(&instances.first()?.values)
}

/// `standard_event_id` from a record's first template instance's values.
fn standard_layout_event_id(values: &[BinXmlValue<'_>]) -> Option<u32> {
    use BinXmlValue as V;
    match values.get(..11)? {
        [
            V::UInt8Type(_),
            V::UInt8Type(_),
            V::UInt16Type(_),
            V::UInt16Type(id),
            V::NullType | V::UInt16Type(_),
            V::HexInt64Type(_),
            V::FileTimeType(_),
            _,
            _,
            _,
            V::UInt64Type(_),
        ] => Some(u32::from(*id)),
        _ => None,
    }
}

/// The event of `record` built from its template, without rendering it; `None` when
/// the template reader does not handle it (then render it: [`parse_event_xml`] of
/// `record.into_xml()`). `templates` must be [`TemplateReader::new_chunk`]ed when
/// the chunk changes.
pub fn build_evtx_event(
    templates: &mut TemplateReader,
    record: &EvtxRecord<'_>,
) -> Option<WinEvent> {
    let instances = record.template_instances().ok()?;
    build_from_template(templates, record, &instances)
}

/// The event of a record that is exactly one template instance (`instances`, its
/// substitutions), built from the template; `None`: render it instead.
pub(super) fn build_from_template(
    templates: &mut TemplateReader,
    record: &EvtxRecord<'_>,
    instances: &[BinXmlTemplateValues<'_>],
) -> Option<WinEvent> {
    let [instance] = instances else { return None };
    // A fragment header, then the instance: nothing else may be around it.
    let start = usize::try_from(record.binxml_offset).ok()?;
    let data = record.chunk.data;
    if !matches!(data.get(start..)?, [0x0f, _, _, _, 0x0c, ..]) {
        return None;
    }
    templates.build(data, instance.template_def_offset, &instance.values)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::path::PathBuf;

    use super::*;
    use crate::sources::CollectingSink;

    const SYSMON: &str = "sbousseaden_EVTX-ATTACK-SAMPLES_PanacheSysmon_vs_AtomicRedTeam01.evtx";

    /// The corpus file's bytes, or `None` (skip) when ../shared is absent; under
    /// CI=true the absence is a failure.
    fn corpus(file: &str) -> Option<Vec<u8>> {
        let path = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpus/windows/"
        ))
        .join(file);
        if path.exists() {
            return Some(std::fs::read(path).unwrap());
        }
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "corpus file {} is missing (CI=true)",
            path.display()
        );
        eprintln!("SKIP: corpus file {} is absent", path.display());
        None
    }

    /// `bytes` read as a seekable file.
    fn read_file(bytes: &[u8]) -> CollectingSink {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.evtx");
        std::fs::write(&path, bytes).unwrap();
        let mut sink = CollectingSink::default();
        let payload = Payload::File(File::open(&path).unwrap());
        read_evtx(&Arc::from("t.evtx"), payload, &mut sink);
        sink
    }

    /// `bytes` read as a stream (as when decompressed).
    fn read_stream(bytes: &[u8]) -> CollectingSink {
        let mut sink = CollectingSink::default();
        let payload = Payload::Stream(Box::new(Cursor::new(bytes.to_vec())));
        read_evtx(&Arc::from("t.evtx"), payload, &mut sink);
        sink
    }

    fn errors(sink: &CollectingSink) -> Vec<String> {
        sink.errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_file_cut_at_a_chunk_boundary_is_read_without_error() {
        let Some(data) = corpus(SYSMON) else { return };
        let whole = read_file(&data);
        assert!(whole.errors.is_empty(), "{:?}", errors(&whole));
        for chunks in [0, 1, 3, 16] {
            let cut = &data[..FILE_HEADER_SIZE + chunks * CHUNK_SIZE];
            let (file, stream) = (read_file(cut), read_stream(cut));
            assert!(file.errors.is_empty(), "{chunks}: {:?}", errors(&file));
            assert!(stream.errors.is_empty(), "{chunks}: {:?}", errors(&stream));
            assert_eq!(file.events.len(), stream.events.len(), "{chunks} chunks");
            assert_eq!(file.events.is_empty(), chunks == 0, "{chunks} chunks");
            assert!(file.events.len() <= whole.events.len());
        }
    }

    #[test]
    fn a_file_cut_inside_a_chunk_is_reported_after_its_whole_chunks() {
        let Some(data) = corpus(SYSMON) else { return };
        let three = FILE_HEADER_SIZE + 3 * CHUNK_SIZE;
        let before = read_file(&data[..three]).events.len();
        assert!(before > 0);
        for rest in [1, 30_000, CHUNK_SIZE - 1] {
            let cut = &data[..three + rest];
            let want = format!(
                "t.evtx: chunk 4: truncated EVTX file: chunk 4 at byte offset {three} has only \
                 {rest} of its 65536 bytes (the input ends at byte offset {}); chunk skipped",
                three + rest
            );
            for (how, sink) in [("file", read_file(cut)), ("stream", read_stream(cut))] {
                assert_eq!(
                    errors(&sink),
                    std::slice::from_ref(&want),
                    "{how}, {rest} bytes"
                );
                assert_eq!(sink.events.len(), before, "{how}, {rest} bytes");
            }
        }
    }

    #[test]
    fn a_file_cut_inside_its_header_is_reported() {
        let Some(data) = corpus(SYSMON) else { return };
        for cut in [1, 8, 1000, FILE_HEADER_SIZE - 1] {
            let want = format!(
                "t.evtx: truncated EVTX file: it ends at byte offset {cut}, inside its \
                 4096-byte file header; no chunk to read"
            );
            for (how, sink) in [
                ("file", read_file(&data[..cut])),
                ("stream", read_stream(&data[..cut])),
            ] {
                assert_eq!(
                    errors(&sink),
                    std::slice::from_ref(&want),
                    "{how}, {cut} bytes"
                );
                assert!(sink.events.is_empty());
            }
        }
    }

    #[test]
    fn a_short_input_that_is_not_evtx_says_so() {
        for bytes in [&b""[..], b"hello", b"ElfFilX\0 and more"] {
            let msg = header_problem(bytes).unwrap();
            assert!(
                msg.contains("empty") || msg.contains("bad header magic"),
                "{bytes:?}: {msg}"
            );
            let sink = read_file(bytes);
            assert_eq!(sink.errors.len(), 1, "{:?}", errors(&sink));
            assert_eq!(sink.errors[0].message, msg);
        }
        assert_eq!(
            header_problem(&[0; 8]).as_deref(),
            Some("not an EVTX file (bad header magic)")
        );
    }

    /// `bytes` read as a stream twice: records read straight from the chunks, and
    /// every record through the evtx crate (the reader before): events (as text) and
    /// errors of each.
    fn both_ways(bytes: &[u8]) -> [(Vec<String>, Vec<String>); 2] {
        [true, false].map(|direct| {
            let mut sink = CollectingSink::default();
            let payload = Payload::Stream(Box::new(Cursor::new(bytes.to_vec())));
            read_evtx_via(&Arc::from("t.evtx"), payload, &mut sink, direct);
            let events = sink.events.iter().map(|e| format!("{e:?}")).collect();
            (events, errors(&sink))
        })
    }

    /// The hunt's visitor, handing back to the crate each record `hand_back` picks
    /// (by its place in the input): the per-record fallback, wherever it falls.
    struct HandingBack<'a> {
        inner: MappingVisitor<'a>,
        hand_back: fn(usize) -> bool,
        seen: usize,
        handed: usize,
        direct_after_handed: usize,
    }

    impl EvtxVisitor for HandingBack<'_> {
        fn chunk_start(&mut self) {
            self.inner.chunk_start();
        }
        fn raw_record(&mut self, chunk: &[u8], record: &RawRecord) -> bool {
            self.seen += 1;
            if (self.hand_back)(self.seen) {
                self.handed += 1;
                return false;
            }
            let direct = self.inner.raw_record(chunk, record);
            self.direct_after_handed += usize::from(direct && self.handed > 0);
            direct
        }
        fn record(&mut self, record: EvtxRecord<'_>, chunk_no: u64) {
            self.inner.record(record, chunk_no);
        }
        fn error(&mut self, error: InputError) {
            self.inner.error(error);
        }
    }

    #[test]
    fn records_handed_back_one_by_one_read_as_the_crate_reads_them() {
        let mut covered = 0;
        for file in [
            SYSMON,
            "mdecrevoisier_EVTX-to-MITRE-Attack_ID800-4103-4104-PowerShell_BITS_job_started.evtx",
        ] {
            let Some(data) = corpus(file) else { return };
            let [_, (crate_events, _)] = both_ways(&data);
            assert!(!crate_events.is_empty(), "{file}");
            let picks: [fn(usize) -> bool; 3] = [|n| n % 3 == 0, |n| n % 7 == 1, |n| n == 2];
            for hand_back in picks {
                let mut sink = CollectingSink::default();
                let name: Arc<str> = Arc::from("t.evtx");
                let mut visitor = HandingBack {
                    inner: MappingVisitor {
                        name: name.clone(),
                        mapper: Mapper::new(name.clone(), FORMAT_EVTX),
                        templates: TemplateReader::default(),
                        direct: true,
                        sink: &mut sink,
                    },
                    hand_back,
                    seen: 0,
                    handed: 0,
                    direct_after_handed: 0,
                };
                let payload = Payload::Stream(Box::new(Cursor::new(data.clone())));
                read_with(&name, payload, &mut visitor);
                let (handed, after) = (visitor.handed, visitor.direct_after_handed);
                visitor.inner.mapper.finish(visitor.inner.sink);
                let events: Vec<String> = sink.events.iter().map(|e| format!("{e:?}")).collect();
                assert_eq!(events, crate_events, "{file}");
                assert!(
                    handed > 0 && after > 0,
                    "{file}: {handed} handed, {after} after"
                );
                covered += after;
            }
        }
        assert!(covered > 0);
    }

    /// The events of a damaged input are those of the crate's reading; the direct
    /// read reports no error the crate does not (it may report fewer: a record
    /// skipped for its event id is not decoded, so its damage goes unseen).
    fn same_as_the_crate(bytes: &[u8], what: &str) -> usize {
        let [(events, errs), (crate_events, crate_errs)] = both_ways(bytes);
        assert_eq!(events, crate_events, "{what}");
        for e in &errs {
            assert!(crate_errs.contains(e), "{what}: {e} not in {crate_errs:?}");
        }
        events.len()
    }

    /// Offsets of the first two record headers of the chunk at `chunk`.
    fn record_headers(data: &[u8], chunk: usize) -> [usize; 2] {
        let first = chunk + 512;
        let size = u32::from_le_bytes(data[first + 4..first + 8].try_into().unwrap());
        [first, first + size as usize]
    }

    #[test]
    fn chunks_cut_inside_their_headers_read_as_the_crate_reads_them() {
        let Some(data) = corpus(SYSMON) else { return };
        let one = &data[..FILE_HEADER_SIZE + CHUNK_SIZE];
        let whole = same_as_the_crate(one, "whole chunk");
        assert!(whole > 0);
        let [first, second] = record_headers(one, FILE_HEADER_SIZE);
        // Every offset of the chunk header and of the first two record headers: the
        // rest of the chunk zeroed, as a copy cut short and padded leaves it.
        let cuts = (FILE_HEADER_SIZE..first + 24).chain(second..second + 24);
        for cut in cuts {
            let mut bytes = one.to_vec();
            bytes[cut..].fill(0);
            let n = same_as_the_crate(&bytes, &format!("cut at {cut}"));
            assert!(n <= whole);
        }
    }

    #[test]
    fn oversize_lengths_read_as_the_crate_reads_them() {
        let Some(data) = corpus(SYSMON) else { return };
        let one = &data[..FILE_HEADER_SIZE + 2 * CHUNK_SIZE];
        let [first, second] = record_headers(one, FILE_HEADER_SIZE);
        // Record sizes: past the chunk, under a header, zero; the free-space offset
        // past the chunk; an instance's value count and a value's size; a template
        // definition's offset.
        let binxml = first + 24;
        let mut edits: Vec<(usize, Vec<u8>)> = Vec::new();
        for size in [u32::MAX, 65_536, 27, 0] {
            edits.push((first + 4, size.to_le_bytes().to_vec()));
            edits.push((second + 4, size.to_le_bytes().to_vec()));
        }
        edits.push((FILE_HEADER_SIZE + 48, u32::MAX.to_le_bytes().to_vec()));
        // Fragment header (4), instance token (1), constant (1), template id (4):
        // then the definition's offset; after the definition the value count.
        let def_at = binxml + 10;
        let def = u32::from_le_bytes(one[def_at..def_at + 4].try_into().unwrap()) as usize;
        edits.push((def_at, 0xffff_fff0u32.to_le_bytes().to_vec()));
        let mut count_at = def_at + 4;
        if def == count_at - FILE_HEADER_SIZE {
            let size = u32::from_le_bytes(one[count_at + 20..count_at + 24].try_into().unwrap());
            count_at += 24 + size as usize;
        }
        edits.push((count_at, u32::MAX.to_le_bytes().to_vec()));
        edits.push((count_at + 4, u16::MAX.to_le_bytes().to_vec()));
        edits.push((count_at + 4 + 3 * 4, u16::MAX.to_le_bytes().to_vec()));
        for (at, bytes) in edits {
            let mut damaged = one.to_vec();
            damaged[at..at + bytes.len()].copy_from_slice(&bytes);
            same_as_the_crate(&damaged, &format!("{bytes:02x?} at {at}"));
        }
    }

    #[test]
    fn flipped_bytes_never_panic_and_keep_the_crate_events() {
        let Some(data) = corpus(SYSMON) else { return };
        let one = &data[..FILE_HEADER_SIZE + CHUNK_SIZE];
        let mut rng = crate::test_rng::XorShift::new(0x2545_f491_4f6c_dd1d);
        let mut next = || rng.next();
        // Bytes of the record area only (record headers, instances, values,
        // definitions): a damaged chunk header is the crate's to report.
        let start = FILE_HEADER_SIZE + 512;
        let mut same = 0;
        for round in 0..120 {
            let mut bytes = one.to_vec();
            for _ in 0..1 + round % 8 {
                let at = start + (next() as usize) % (bytes.len() - start);
                bytes[at] ^= (next() as u8) | 1;
            }
            let [(events, _), (crate_events, _)] = both_ways(&bytes);
            // A flip inside a value or name reads as the same damaged text both ways;
            // a flip the crate's stricter checks refuse may cost it a record the
            // template reader still builds: never the other way round.
            assert!(events.len() >= crate_events.len(), "round {round}");
            same += usize::from(events == crate_events);
        }
        assert!(same > 0, "no damaged chunk read the same both ways");
    }
}
