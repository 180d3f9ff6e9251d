//! Microsoft Defender for Endpoint (MDE) advanced hunting tables, in every shape
//! they leave MDE (see `docs/mde.md`):
//!
//! * the Streaming API (Event Hubs, Storage): `{"time", "tenantId",
//!   "operationName", "category": "AdvancedHunting-<Table>", "properties": {…}}`,
//!   one record per line or in a `records` array;
//! * advanced hunting results: the portal's CSV and JSON exports, the Defender
//!   API's `{"Schema", "Results"}` and Graph's `{"schema", "results"}`;
//! * Microsoft Sentinel / Log Analytics: rows with `TimeGenerated` and `Type`, one
//!   object per line (data export), the query API's `tables[].columns/rows`, or the
//!   portal's CSV.
//!
//! JSON is cut into rows by `split.rs` (a wrapper's row array is streamed, never held
//! whole), CSV by `csv.rs`; [`map`] turns `DeviceProcessEvents`,
//! `DeviceNetworkEvents` and `DeviceFileEvents` rows into events and skips every
//! other table. A bad row is reported with its line and the input goes on.

mod csv;
pub mod map;
mod split;

use std::io::BufRead;
use std::sync::Arc;

use serde_json::Value;

use self::csv::CsvRows;
use self::map::Mapper;
use self::split::{Piece, RowSplitter};
use crate::input::InputError;
use crate::input::lines::LineReader;
use crate::sources::{EventSink, LineParser, MAX_LINE_BYTES, feed_lines};

/// The format name carried in provenance (the `--input-format` name).
pub const FORMAT_MDE: &str = "mde";

/// Largest single row accepted; larger ones are reported and skipped.
pub const MAX_ROW_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Nothing but blank lines yet.
    Unknown,
    Json,
    Csv,
}

/// A push parser for MDE data: lines (or, for JSON, bytes in any cut) in, events out.
pub struct MdeParser {
    name: Arc<str>,
    mode: Mode,
    json: RowSplitter,
    csv: CsvRows,
    mapper: Mapper,
}

impl MdeParser {
    pub fn new(name: Arc<str>) -> Self {
        MdeParser {
            mapper: Mapper::new(name.clone()),
            name,
            mode: Mode::Unknown,
            json: RowSplitter::new(MAX_ROW_BYTES),
            csv: CsvRows::new(MAX_ROW_BYTES),
        }
    }

    /// Feeds JSON bytes (any cut). Used once the input is known to be JSON.
    fn feed_json(&mut self, bytes: &[u8], sink: &mut dyn EventSink) {
        let MdeParser {
            name, json, mapper, ..
        } = self;
        json.push(bytes, &mut |line, piece| {
            on_piece(name, mapper, line, piece, sink)
        });
    }

    fn on_row(&self, line: u64, row: Result<Value, String>, sink: &mut dyn EventSink) {
        match row.and_then(|r| self.mapper.map(r, line)) {
            Ok(Some(event)) => sink.event(event),
            Ok(None) => {}
            Err(e) => sink.error(InputError::new(&self.name, Some(format!("line {line}")), e)),
        }
    }
}

fn on_piece(
    name: &Arc<str>,
    mapper: &mut Mapper,
    line: u64,
    piece: Piece<'_>,
    sink: &mut dyn EventSink,
) {
    let row = match &piece {
        Piece::Row(_, Some(n)) => format!(", row {n}"),
        _ => String::new(),
    };
    let error = |message: String, sink: &mut dyn EventSink| {
        sink.error(InputError::new(
            name,
            Some(format!("line {line}{row}")),
            message,
        ))
    };
    match piece {
        Piece::Row(bytes, _) => match serde_json::from_slice::<Value>(bytes) {
            Ok(row) => match mapper.map(row, line) {
                Ok(Some(event)) => sink.event(event),
                Ok(None) => {}
                Err(e) => error(e, sink),
            },
            Err(e) => error(format!("invalid JSON row: {e}; skipped"), sink),
        },
        Piece::Columns(bytes) => match serde_json::from_slice::<Value>(bytes) {
            Ok(list) => mapper.set_columns(&list),
            Err(e) => error(format!("invalid column list: {e}"), sink),
        },
        Piece::Error(e) => error(e, sink),
    }
}

impl LineParser for MdeParser {
    fn line(&mut self, line: &[u8], line_no: u64, sink: &mut dyn EventSink) {
        let line = if self.mode == Mode::Unknown {
            let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
            match line.iter().find(|b| !b.is_ascii_whitespace()) {
                None => return,
                Some(b'{' | b'[') => {
                    self.mode = Mode::Json;
                    self.json.line_mode = one_per_line(line);
                }
                Some(_) => self.mode = Mode::Csv,
            }
            line
        } else {
            line
        };
        match self.mode {
            Mode::Json => {
                self.json.line = line_no;
                self.feed_json(line, sink);
                self.feed_json(b"\n", sink);
            }
            Mode::Csv => {
                let mut rows = Vec::new();
                self.csv
                    .line(line, line_no, &mut |l, row| rows.push((l, row)));
                for (l, row) in rows {
                    self.on_row(l, row.map(Value::Object), sink);
                }
            }
            Mode::Unknown => {}
        }
    }

    fn finish(&mut self, sink: &mut dyn EventSink) {
        match self.mode {
            Mode::Json => {
                let MdeParser {
                    name, json, mapper, ..
                } = self;
                json.finish(&mut |line, piece| on_piece(name, mapper, line, piece, sink));
            }
            Mode::Csv => {
                let mut rows = Vec::new();
                self.csv.finish(&mut |l, row| rows.push((l, row)));
                for (l, row) in rows {
                    self.on_row(l, row.map(Value::Object), sink);
                }
            }
            Mode::Unknown => {}
        }
    }
}

/// Whether a first line that is a whole object says the input is JSON Lines (known
/// early, a record cut off on the first line does not swallow the lines after it).
fn one_per_line(first: &[u8]) -> Option<bool> {
    let t = first.trim_ascii();
    (t.len() > 2 && t.starts_with(b"{") && t.ends_with(b"}")).then_some(true)
}

/// Reads a whole MDE input: JSON as a byte stream (an API answer may be one line of
/// many megabytes), CSV line by line.
pub fn read_mde(name: &Arc<str>, mut reader: Box<dyn BufRead + Send>, sink: &mut dyn EventSink) {
    let mut parser = MdeParser::new(name.clone());
    let head = loop {
        match reader.fill_buf() {
            Ok(head) => break head,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                sink.error(InputError::new(name, None, format!("read error: {e}")));
                return;
            }
        }
    };
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let json = matches!(
        head.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    );
    if !json {
        let mut lines = LineReader::new(reader, MAX_LINE_BYTES);
        feed_lines(&mut lines, name, &mut parser, 1, sink);
        parser.finish(sink);
        return;
    }
    parser.mode = Mode::Json;
    parser.json.line_mode = one_per_line(head.split(|&b| b == b'\n').next().unwrap_or_default());
    crate::sources::feed_chunks(
        name,
        &mut reader,
        &mut parser,
        sink,
        |p| p.json.line,
        |p, bytes, sink| {
            p.feed_json(bytes, sink);
            sink.progress(bytes.len() as u64);
        },
    );
    parser.finish(sink);
}

#[cfg(test)]
mod tests;
