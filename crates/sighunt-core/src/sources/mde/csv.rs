//! CSV exports: the Defender portal's advanced hunting "Export" and Log Analytics'
//! "Export to CSV" (whose headers carry the zone: `TimeGenerated [UTC]`). RFC 4180:
//! a header line, then one record per row; a quoted field may hold commas, doubled
//! quotes and line breaks (command lines do), so a record may span lines.

use serde_json::{Map, Value};

pub(super) type RowFn<'a> = dyn FnMut(u64, Result<Map<String, Value>, String>) + 'a;

pub(super) struct CsvRows {
    max_bytes: usize,
    header: Option<Vec<String>>,
    /// The header was not an MDE table's: the rest of the input is not read.
    foreign: bool,
    pending: Vec<u8>,
    pending_line: u64,
    in_quotes: bool,
}

impl CsvRows {
    pub(super) fn new(max_bytes: usize) -> Self {
        CsvRows {
            max_bytes,
            header: None,
            foreign: false,
            pending: Vec::new(),
            pending_line: 0,
            in_quotes: false,
        }
    }

    /// Feeds one line (without its newline); each complete row goes to `out` with
    /// the line it started on, as column name → value.
    pub(super) fn line(&mut self, line: &[u8], line_no: u64, out: &mut RowFn<'_>) {
        if self.foreign {
            return;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if self.pending_line == 0 {
            if line.iter().all(u8::is_ascii_whitespace) {
                return;
            }
            self.pending_line = line_no;
        } else {
            self.pending.push(b'\n');
        }
        if self.pending.len() + line.len() > self.max_bytes {
            out(
                self.pending_line,
                Err(format!(
                    "CSV record larger than {} bytes; skipped",
                    self.max_bytes
                )),
            );
            self.pending = Vec::new();
            self.pending_line = 0;
            self.in_quotes = false;
            return;
        }
        self.pending.extend_from_slice(line);
        self.in_quotes ^= line.iter().filter(|&&b| b == b'"').count() % 2 == 1;
        if !self.in_quotes {
            self.complete(out);
        }
    }

    /// End of input: a record with an open quote is reported.
    pub(super) fn finish(&mut self, out: &mut RowFn<'_>) {
        if self.pending_line != 0 {
            out(
                self.pending_line,
                Err("CSV record with an unclosed quote at end of input; skipped".into()),
            );
        }
        self.pending.clear();
        self.pending_line = 0;
        self.in_quotes = false;
    }

    fn complete(&mut self, out: &mut RowFn<'_>) {
        let line = self.pending_line;
        let fields = split_record(&self.pending);
        self.pending.clear();
        self.pending_line = 0;
        match &self.header {
            None => {
                let names: Vec<String> = fields.iter().map(|f| column_name(f)).collect();
                let known = ["ActionType", "DeviceName", "DeviceId"];
                if names.iter().any(|n| known.contains(&n.as_str())) {
                    self.header = Some(names);
                } else {
                    self.foreign = true;
                    out(
                        line,
                        Err("not a Defender for Endpoint CSV header (no ActionType, DeviceName or DeviceId column); input skipped".into()),
                    );
                }
            }
            Some(header) if header.len() != fields.len() => out(
                line,
                Err(format!(
                    "CSV row has {} fields where the header has {}; skipped",
                    fields.len(),
                    header.len()
                )),
            ),
            Some(header) => {
                let row = header
                    .iter()
                    .zip(fields)
                    .map(|(k, v)| (k.clone(), Value::String(v)))
                    .collect();
                out(line, Ok(row));
            }
        }
    }
}

/// A header cell as a column name: trimmed, without a byte-order mark or the
/// ` [UTC]` zone Log Analytics appends to time columns.
fn column_name(cell: &str) -> String {
    let cell = cell.trim_start_matches('\u{feff}').trim();
    let cell = match cell.rfind(" [") {
        Some(i) if cell.ends_with(']') => &cell[..i],
        _ => cell,
    };
    cell.trim().to_string()
}

/// The fields of one complete RFC 4180 record.
pub(super) fn split_record(record: &[u8]) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = Vec::new();
    let mut quoted = false;
    let mut i = 0;
    while i < record.len() {
        let b = record[i];
        if quoted {
            if b == b'"' {
                if record.get(i + 1) == Some(&b'"') {
                    field.push(b'"');
                    i += 1;
                } else {
                    quoted = false;
                }
            } else {
                field.push(b);
            }
        } else if b == b'"' {
            quoted = true;
        } else if b == b',' {
            fields.push(String::from_utf8_lossy(&field).into_owned());
            field.clear();
        } else {
            field.push(b);
        }
        i += 1;
    }
    fields.push(String::from_utf8_lossy(&field).into_owned());
    fields
}
