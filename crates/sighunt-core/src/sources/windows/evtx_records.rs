//! The records of an EVTX chunk, found without the evtx crate building each one:
//! the same walk as the crate's record iterator (record headers from byte 512 of
//! the chunk, each `data_size` long, to the free-space offset or the chunk's last
//! record id), read with the crate's own record header parser.
//!
//! Only a chunk whose every record header reads well is walked here; anything else
//! (bad magic, a size under 28 bytes or past the chunk, a bad timestamp) leaves the
//! whole chunk to the crate, which reports, skips and resynchronises as before.

use std::ops::Range;

use evtx::{EvtxChunkData, EvtxRecordHeader};

/// Chunk header, then the first record.
const CHUNK_HEADER_SIZE: u64 = 512;
/// Record header: magic, size, record id, FILETIME.
const RECORD_HEADER_SIZE: u64 = 24;

/// One record of a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// The record id of its header (exported logs renumber it; the event's own
    /// EventRecordID is read from its System values).
    pub event_record_id: u64,
    /// Its BinXML, as offsets into the chunk.
    pub binxml: Range<usize>,
}

/// The records of `data` in the order the crate yields them, or `None` when one of
/// their headers does not read well (then the crate reads the chunk).
pub fn chunk_records(data: &EvtxChunkData) -> Option<Vec<RawRecord>> {
    let chunk = &data.data;
    let len = chunk.len() as u64;
    let live_end = u64::from(data.header.free_space_offset).min(len);
    let mut records = Vec::new();
    let mut offset = CHUNK_HEADER_SIZE;
    while offset < live_end {
        let header = EvtxRecordHeader::from_bytes_at(chunk, usize::try_from(offset).ok()?).ok()?;
        let size = header.record_data_size().ok()?;
        let start = offset + RECORD_HEADER_SIZE;
        let end = start.saturating_add(u64::from(size));
        if end > len {
            return None;
        }
        records.push(RawRecord {
            event_record_id: header.event_record_id,
            binxml: usize::try_from(start).ok()?..usize::try_from(end).ok()?,
        });
        if header.event_record_id == data.header.last_event_record_id {
            break;
        }
        offset += u64::from(header.data_size);
    }
    Some(records)
}
