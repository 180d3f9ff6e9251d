//! Binary EVTX files, read with the `evtx` crate chunk by chunk (64 KiB each, the
//! only unit the format allows), records in the order Windows reads them.
//!
//! Rendering a record is the expensive part, and almost every record in a Security
//! or Sysmon log is irrelevant here. The event id is read from the record's template
//! substitutions first (the standard System template, recognised by the types of its
//! substitutions, has `EventID` at index 3; a record of any other layout is rendered
//! anyway); only records with a relevant id are rendered to XML and parsed like XML
//! input.

use std::io::Read;
use std::sync::Arc;

use evtx::binxml::value_variant::BinXmlValue;
use evtx::{EvtxChunkData, EvtxParser, EvtxRecord, ParserSettings};

use super::map::{Mapper, is_relevant_event_id};
use super::{FORMAT_EVTX, parse_event_xml};
use crate::event::Position;
use crate::input::{InputError, Payload};
use crate::sources::EventSink;

const FILE_HEADER_SIZE: usize = 4096;
const CHUNK_SIZE: usize = 65536;

/// Reads an EVTX file (seekable, in Windows' record order) or stream (in file
/// order, e.g. when it was compressed) into `sink`.
pub fn read_evtx(name: &Arc<str>, payload: Payload, sink: &mut dyn EventSink) {
    let settings = ParserSettings::new().indent(false);
    let mut reader = ChunkReader {
        name: name.clone(),
        mapper: Mapper::new(name.clone(), FORMAT_EVTX),
        settings: Arc::new(settings.clone()),
        chunk_no: 0,
    };
    match payload {
        Payload::File(file) => match EvtxParser::from_read_seek(file) {
            Ok(parser) => {
                let mut parser = parser.with_configuration(settings);
                for chunk in parser.chunks() {
                    reader.chunk_no += 1;
                    match chunk {
                        Ok(mut data) => reader.chunk(&mut data, sink),
                        Err(e) => reader.chunk_error(e.to_string(), sink),
                    }
                }
            }
            Err(e) => sink.error(InputError::new(
                name,
                None,
                format!("not a readable EVTX file: {e}"),
            )),
        },
        Payload::Stream(mut stream) => {
            let mut header = vec![0u8; FILE_HEADER_SIZE];
            if let Err(e) = stream.read_exact(&mut header) {
                sink.error(InputError::new(
                    name,
                    None,
                    format!("EVTX header unreadable: {e}"),
                ));
                return;
            }
            if !header.starts_with(b"ElfFile\0") {
                sink.error(InputError::new(
                    name,
                    None,
                    "not an EVTX file (bad header magic)",
                ));
                return;
            }
            loop {
                let mut buf = Vec::with_capacity(CHUNK_SIZE);
                match (&mut stream).take(CHUNK_SIZE as u64).read_to_end(&mut buf) {
                    Ok(0) => break,
                    Ok(n) if n < CHUNK_SIZE => {
                        reader.chunk_no += 1;
                        reader
                            .chunk_error(format!("incomplete chunk ({n} bytes) at the end"), sink);
                        break;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        reader.chunk_error(
                            format!("read error: {e}; rest of this input skipped"),
                            sink,
                        );
                        break;
                    }
                }
                reader.chunk_no += 1;
                // Dirty files have zeroed chunks between real ones.
                if buf.iter().all(|&b| b == 0) {
                    continue;
                }
                match EvtxChunkData::new(buf, false) {
                    Ok(mut data) => reader.chunk(&mut data, sink),
                    Err(e) => reader.chunk_error(e.to_string(), sink),
                }
            }
        }
    }
    reader.mapper.finish(sink);
}

struct ChunkReader {
    name: Arc<str>,
    mapper: Mapper,
    settings: Arc<ParserSettings>,
    chunk_no: u64,
}

impl ChunkReader {
    fn chunk_error(&self, message: String, sink: &mut dyn EventSink) {
        sink.error(InputError::new(
            &self.name,
            Some(format!("chunk {}", self.chunk_no)),
            format!("{message}; chunk skipped"),
        ));
    }

    /// Reads one chunk. A panic inside the third-party parser (a bug met on hostile
    /// input) costs that chunk, not the run.
    fn chunk(&mut self, data: &mut EvtxChunkData, sink: &mut dyn EventSink) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.chunk_records(data, sink)
        }));
        if outcome.is_err() {
            self.chunk_error("the EVTX parser failed on this chunk".to_string(), sink);
        }
    }

    fn chunk_records(&mut self, data: &mut EvtxChunkData, sink: &mut dyn EventSink) {
        let mut chunk = match data.parse(self.settings.clone()) {
            Ok(c) => c,
            Err(e) => {
                self.chunk_error(e.to_string(), sink);
                return;
            }
        };
        for record in chunk.iter() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    sink.error(InputError::new(
                        &self.name,
                        Some(format!("chunk {}", self.chunk_no)),
                        format!("bad record: {e}; skipped"),
                    ));
                    continue;
                }
            };
            if standard_event_id(&record).is_some_and(|id| !is_relevant_event_id(id)) {
                continue;
            }
            let id = record.event_record_id;
            let rendered = match record.into_xml_bytes() {
                Ok(r) => r,
                Err(e) => {
                    sink.error(InputError::new(
                        &self.name,
                        Some(format!("record {id}")),
                        format!("record not renderable: {e}; skipped"),
                    ));
                    continue;
                }
            };
            match parse_event_xml(&rendered.data) {
                Ok(ev) => {
                    let position = Position::Record(ev.record_id.unwrap_or(id));
                    self.mapper.map(ev, position, sink);
                }
                Err(e) => sink.error(InputError::new(&self.name, Some(format!("record {id}")), e)),
            }
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
pub(super) fn standard_event_id(record: &EvtxRecord<'_>) -> Option<u32> {
    use BinXmlValue as V;
    let instances = record.template_instances().ok()?;
    let values = &instances.first()?.values;
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
