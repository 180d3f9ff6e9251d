//! Cuts an MDE JSON byte stream into rows without holding more than one row.
//!
//! A row is a top-level object (a Streaming API record per line, a Sentinel export
//! line), an element of a top-level array (a portal JSON export), or an element of a
//! wrapper's row array: `records` (an Event Hub message, a blob), `Results` /
//! `results` (the Defender and Graph hunting APIs), `rows` (the Log Analytics query
//! API, whose rows are arrays named by the `columns` that come before them). A
//! wrapper is never buffered whole: once its row array starts, what came before is
//! dropped and each element is handed out as it completes, so a 100,000-row API
//! answer costs one row of memory. Column lists (`Schema`, `schema`, `columns`) are
//! handed out as they complete, for the rows after them.

/// What the splitter hands out, with the line it started on.
pub(super) enum Piece<'a> {
    /// A row, with its 1-based number in its row array (`None` for a top-level
    /// object): rows of a one-line document share their line.
    Row(&'a [u8], Option<u64>),
    Columns(&'a [u8]),
    Error(String),
}

pub(super) type PieceFn<'a> = dyn FnMut(u64, Piece<'_>) + 'a;

/// Keys whose array value holds rows.
const ROW_KEYS: [&[u8]; 4] = [b"records", b"Results", b"results", b"rows"];
/// Keys whose array value names the columns of array rows.
const COLUMN_KEYS: [&[u8]; 3] = [b"Schema", b"schema", b"columns"];
/// Deeper nesting than any MDE record has; beyond it the value is reported and skipped.
const MAX_DEPTH: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Other,
    Rows,
    Columns,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    object: bool,
    /// In an object: the next string is a key.
    expect_key: bool,
    /// In an object: the key of the value being read.
    key: Key,
    /// An array whose elements are rows.
    rows: bool,
    /// In an array: a value is due (after `[` or `,`).
    value_due: bool,
}

/// What the bytes being read belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Capture {
    None,
    /// A top-level object: a row, unless a row array turns up inside it.
    Top,
    /// An element of a row array.
    Row,
    /// A value too large to keep, read to its end and dropped.
    Discard,
}

pub(super) struct RowSplitter {
    max_bytes: usize,
    stack: Vec<Frame>,
    in_string: bool,
    escape: bool,
    /// The string being read is an object key (kept in `key`, up to 16 bytes).
    reading_key: bool,
    key: Vec<u8>,
    capture: Capture,
    /// Stack depth at which the captured value's own frame sits.
    capture_depth: usize,
    buf: Vec<u8>,
    start_line: u64,
    /// Rows begun in the current row array.
    rows_seen: u64,
    /// Depth of the column list being kept, if any.
    columns_depth: Option<usize>,
    columns: Vec<u8>,
    /// Current 1-based line.
    pub line: u64,
    /// Skipping to the end of a line after an error.
    skip_line: bool,
    /// An error was reported and no value has started cleanly since: stray bytes
    /// after it are skipped without another error each.
    resyncing: bool,
    /// Known once the first top-level value completes: whether values end on the line
    /// they start (JSON Lines), where a value still open at a line's end is broken.
    pub(super) line_mode: Option<bool>,
}

impl RowSplitter {
    pub(super) fn new(max_bytes: usize) -> Self {
        RowSplitter {
            max_bytes,
            stack: Vec::new(),
            in_string: false,
            escape: false,
            reading_key: false,
            key: Vec::new(),
            capture: Capture::None,
            capture_depth: 0,
            buf: Vec::new(),
            start_line: 1,
            rows_seen: 0,
            columns_depth: None,
            columns: Vec::new(),
            line: 1,
            skip_line: false,
            resyncing: false,
            line_mode: None,
        }
    }

    /// Feeds bytes (any cut); complete rows, column lists and errors go to `out`.
    pub(super) fn push(&mut self, bytes: &[u8], out: &mut PieceFn<'_>) {
        for &b in bytes {
            self.byte(b, out);
        }
    }

    /// End of input: a value still open is reported.
    pub(super) fn finish(&mut self, out: &mut PieceFn<'_>) {
        if !self.stack.is_empty() && !self.skip_line {
            out(
                self.start_line,
                Piece::Error("JSON value not closed at end of input; skipped".into()),
            );
        }
        self.reset();
    }

    fn reset(&mut self) {
        self.stack.clear();
        self.in_string = false;
        self.escape = false;
        self.reading_key = false;
        self.capture = Capture::None;
        self.buf.clear();
        self.columns_depth = None;
        self.columns.clear();
    }

    /// Reports an error and skips the rest of the line (and the value it was in).
    fn fail(&mut self, line: u64, message: String, out: &mut PieceFn<'_>) {
        if !self.resyncing {
            out(line, Piece::Error(message));
        }
        self.resyncing = true;
        self.reset();
        self.skip_line = true;
    }

    fn keep(&mut self, b: u8) {
        match self.capture {
            Capture::Top | Capture::Row => {
                if self.buf.len() < self.max_bytes {
                    self.buf.push(b);
                } else {
                    self.capture = Capture::Discard;
                    self.buf = Vec::new();
                }
            }
            Capture::None | Capture::Discard => {}
        }
        if self.columns_depth.is_some() {
            if self.columns.len() < self.max_bytes {
                self.columns.push(b);
            } else {
                self.columns_depth = None;
                self.columns = Vec::new();
            }
        }
    }

    fn byte(&mut self, b: u8, out: &mut PieceFn<'_>) {
        if b == b'\n' {
            let line = self.line;
            self.line += 1;
            if self.skip_line {
                self.skip_line = false;
                return;
            }
            if self.in_string {
                // JSON strings hold no raw line break: the record was cut off.
                let start = self.start_line;
                self.fail(
                    start,
                    format!("line break inside a JSON string at the end of line {line} (record cut off?); skipped"),
                    out,
                );
                self.skip_line = false;
                return;
            }
            if self.line_mode == Some(true) && !self.stack.is_empty() {
                let start = self.start_line;
                self.fail(
                    start,
                    format!("record not closed at the end of line {line}; skipped"),
                    out,
                );
                self.skip_line = false;
            }
            return;
        }
        if self.skip_line {
            return;
        }
        if self.in_string {
            self.keep(b);
            if self.escape {
                self.escape = false;
            } else if b == b'\\' {
                self.escape = true;
            } else if b == b'"' {
                self.in_string = false;
                if self.reading_key {
                    self.reading_key = false;
                    let key = classify(&self.key);
                    if let Some(f) = self.stack.last_mut() {
                        f.key = key;
                    }
                }
                return;
            }
            if self.reading_key && self.key.len() <= 16 {
                self.key.push(b);
            }
            return;
        }
        match b {
            b' ' | b'\t' | b'\r' => {}
            b'{' | b'[' => self.open(b, out),
            b'}' | b']' => self.close(b, out),
            _ if self.stack.is_empty() => {
                let line = self.line;
                self.fail(line, "not a JSON object or array; line skipped".into(), out);
            }
            b'"' => {
                self.scalar_value(out);
                self.keep(b);
                self.in_string = true;
                if let Some(f) = self.stack.last_mut() {
                    if f.object && f.expect_key {
                        self.reading_key = true;
                        self.key.clear();
                    }
                }
            }
            b':' => {
                self.keep(b);
                if let Some(f) = self.stack.last_mut() {
                    f.expect_key = false;
                }
            }
            b',' => {
                self.keep(b);
                if let Some(f) = self.stack.last_mut() {
                    if f.object {
                        f.expect_key = true;
                        f.key = Key::Other;
                    } else {
                        f.value_due = true;
                    }
                }
            }
            _ => {
                self.scalar_value(out);
                self.keep(b);
            }
        }
    }

    /// A string, number or literal starts: in a row array, a row that is no object.
    fn scalar_value(&mut self, out: &mut PieceFn<'_>) {
        if let Some(f) = self.stack.last_mut() {
            if !f.object && f.value_due {
                f.value_due = false;
                if f.rows && self.capture == Capture::None {
                    self.rows_seen += 1;
                    out(
                        self.line,
                        Piece::Error("row is not a JSON object or array; skipped".into()),
                    );
                }
            }
        }
    }

    fn open(&mut self, b: u8, out: &mut PieceFn<'_>) {
        if self.stack.len() >= MAX_DEPTH {
            let line = self.line;
            self.fail(
                line,
                format!("JSON nested deeper than {MAX_DEPTH} levels; skipped"),
                out,
            );
            return;
        }
        let object = b == b'{';
        let parent = self.stack.last().copied();
        let mut rows = false;
        match parent {
            None => {
                self.resyncing = false;
                self.start_line = self.line;
                if object {
                    self.capture = Capture::Top;
                    self.capture_depth = 1;
                    self.buf.clear();
                } else {
                    // A top-level array: its elements are rows.
                    rows = true;
                }
            }
            Some(p) if p.rows && self.capture == Capture::None => {
                self.rows_seen += 1;
                self.capture = Capture::Row;
                self.capture_depth = self.stack.len() + 1;
                self.start_line = self.line;
                self.buf.clear();
            }
            Some(p) if !object && p.object && self.wrapper_level() => {
                match p.key {
                    Key::Rows if matches!(self.capture, Capture::Top | Capture::None) => {
                        // The object around it is a wrapper, not a row.
                        rows = true;
                        self.capture = Capture::None;
                        self.buf.clear();
                    }
                    Key::Columns
                        if self.columns_depth.is_none()
                            && matches!(self.capture, Capture::Top | Capture::None) =>
                    {
                        self.columns_depth = Some(self.stack.len() + 1);
                        self.columns.clear();
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        if let Some(f) = self.stack.last_mut() {
            f.value_due = false;
        }
        if rows {
            self.rows_seen = 0;
        }
        self.keep(b);
        self.stack.push(Frame {
            object,
            expect_key: object,
            key: Key::Other,
            rows,
            value_due: !object,
        });
    }

    /// Where a wrapper keeps its rows and columns: in the top-level object
    /// (`records`, `Results`, `Schema`), or in an element of a top-level array member
    /// (`tables[i].rows`, `tables[i].columns`) — not deeper, so a record's own
    /// fields never pass for a wrapper.
    fn wrapper_level(&self) -> bool {
        match self.stack.len() {
            1 => true,
            3 => self.stack[0].object && !self.stack[1].object,
            _ => false,
        }
    }

    fn close(&mut self, b: u8, out: &mut PieceFn<'_>) {
        let Some(frame) = self.stack.last().copied() else {
            let line = self.line;
            self.fail(
                line,
                format!("unexpected '{}'; line skipped", b as char),
                out,
            );
            return;
        };
        if frame.object != (b == b'}') {
            let line = self.line;
            self.fail(
                line,
                format!("mismatched '{}'; value skipped", b as char),
                out,
            );
            return;
        }
        self.keep(b);
        let depth = self.stack.len();
        self.stack.pop();
        if self.columns_depth == Some(depth) {
            self.columns_depth = None;
            out(self.line, Piece::Columns(&self.columns));
            self.columns.clear();
        }
        if self.capture != Capture::None && self.capture_depth == depth {
            match self.capture {
                Capture::Top => out(self.start_line, Piece::Row(&self.buf, None)),
                Capture::Row => out(self.start_line, Piece::Row(&self.buf, Some(self.rows_seen))),
                Capture::Discard => out(
                    self.start_line,
                    Piece::Error(format!(
                        "record larger than {} bytes; skipped",
                        self.max_bytes
                    )),
                ),
                Capture::None => {}
            }
            self.capture = Capture::None;
            self.buf.clear();
        }
        if self.stack.is_empty() {
            if self.line_mode.is_none() {
                self.line_mode = Some(self.start_line == self.line);
            }
            // Keep the buffers' memory bounded by typical, not extreme, rows.
            if self.buf.capacity() > 1 << 20 {
                self.buf = Vec::new();
            }
        }
    }
}

fn classify(key: &[u8]) -> Key {
    if ROW_KEYS.contains(&key) {
        Key::Rows
    } else if COLUMN_KEYS.contains(&key) {
        Key::Columns
    } else {
        Key::Other
    }
}
