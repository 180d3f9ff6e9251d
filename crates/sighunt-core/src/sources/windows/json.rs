//! Windows events as JSON, in the shapes collectors write them:
//!
//! * Winlogbeat/Elastic: `winlog.event_data.*` as logged (raw), and the module-processed
//!   ECS fields (`process.command_line`, `powershell.file.script_block_text` …), which
//!   the ingest pipelines move out of `event_data`;
//! * OTRF Security-Datasets / NXLog: EventData flattened to the top level next to
//!   `EventID`, `Channel`, `Hostname` (and the 2022 exports' `EventData` XML string);
//! * `evtx_dump`-style `{"Event": {"System": …, "EventData": …}}`.
//!
//! Objects may come one per line or as an array, compact or pretty-printed:
//! [`JsonSplitter`] finds each top-level object (or array element) in the byte stream
//! without buffering more than one object, and knows the line it started on.
//!
//! Speed: the splitter jumps through string contents with a vector search, and an
//! object's relevance (its event id, `probe`) is decided before a
//! `serde_json::Value` is built: only the events sighunt maps get a value tree.

#[cfg(test)]
mod differential;
mod flat;
mod probe;
pub mod ranged;
mod scan;

pub use probe::certainly_irrelevant;

use std::cell::RefCell;
use std::io::BufRead;
use std::sync::Arc;

use serde_json::Value;

use self::probe::Relevance;
use super::map::Mapper;
use super::{FORMAT_JSON, MAX_EVENT_BYTES, WinEvent, parse_event_xml, parse_pid, parse_time};
use crate::event::Position;
use crate::input::InputError;
use crate::sources::{EventSink, LineParser};

/// Reads a JSON stream (lines or arrays) into `sink`.
pub fn read_json(name: &Arc<str>, mut reader: Box<dyn BufRead + Send>, sink: &mut dyn EventSink) {
    let mut parser = WinJsonParser::new(name.clone());
    crate::sources::feed_chunks(
        name,
        &mut reader,
        &mut parser,
        sink,
        |p| p.splitter.line,
        |p, bytes, sink| p.feed(bytes, sink),
    );
    parser.finish(sink);
}

/// A push parser for Windows JSON: bytes (or lines) in, events out.
pub struct WinJsonParser {
    name: Arc<str>,
    splitter: JsonSplitter,
    mapper: Mapper,
}

impl WinJsonParser {
    pub fn new(name: Arc<str>) -> Self {
        WinJsonParser {
            mapper: Mapper::new(name.clone(), FORMAT_JSON),
            name,
            splitter: JsonSplitter {
                skip_irrelevant: true,
                ..JsonSplitter::default()
            },
        }
    }

    /// Feeds raw bytes (any cut).
    pub fn feed(&mut self, bytes: &[u8], sink: &mut dyn EventSink) {
        let WinJsonParser {
            name,
            splitter,
            mapper,
        } = self;
        splitter.push(bytes, &mut |line, piece| {
            handle_piece(name, mapper, line, piece, sink)
        });
    }
}

fn handle_piece(
    name: &Arc<str>,
    mapper: &mut Mapper,
    line: u64,
    piece: Result<&[u8], String>,
    sink: &mut dyn EventSink,
) {
    match event_of_piece(piece) {
        Ok(None) => {}
        Ok(Some(ev)) => mapper.map(ev, Position::Line(line), sink),
        Err(e) => sink.error(InputError::new(name, Some(format!("line {line}")), e)),
    }
}

thread_local! {
    /// The last relevance check of this thread, and the object the splitter's fast
    /// path is handing out after checking it (while it does), so that
    /// [`event_of_piece`] neither checks it a second time nor reads its members
    /// again.
    static PROBED: RefCell<Probed> = const { RefCell::new(Probed::new()) };
}

/// See [`PROBED`].
struct Probed {
    /// Address and length of the object being handed out; `(0, 0)` when none.
    object: (usize, usize),
    relevance: Relevance,
    /// Its top-level members (see `scan.rs`).
    members: Vec<scan::Span>,
}

impl Probed {
    const fn new() -> Self {
        Probed {
            object: (0, 0),
            relevance: Relevance::Relevant,
            members: Vec::new(),
        }
    }

    /// Checks `bytes`, and holds the result for [`event_of_piece`] when they may
    /// matter.
    fn check(&mut self, bytes: &[u8]) -> Option<Relevance> {
        let relevance = probe::inspect(bytes, &mut self.members);
        self.object = match relevance {
            Some(r) if r != Relevance::Irrelevant => {
                self.relevance = r;
                (bytes.as_ptr() as usize, bytes.len())
            }
            _ => (0, 0),
        };
        relevance
    }

    fn holds(&self, bytes: &[u8]) -> bool {
        self.object == (bytes.as_ptr() as usize, bytes.len())
    }
}

/// The Windows event in one piece of the splitter: `Ok(None)` when the probe finds
/// it irrelevant or it is not a Windows event (other JSON in the same stream is not
/// an error: it is simply not this source's), `Err` with the reason when it is bad.
fn event_of_piece(piece: Result<&[u8], String>) -> Result<Option<WinEvent>, String> {
    let bytes = piece?;
    let targeted = PROBED.with_borrow_mut(|probed| {
        // The splitter's line fast path has just checked this very slice (same
        // address and length): the check would say the same again.
        let relevance = if probed.holds(bytes) {
            Some(probed.relevance)
        } else {
            probe::inspect(bytes, &mut probed.members)
        };
        match relevance {
            Some(Relevance::Irrelevant) => Some(None),
            Some(Relevance::RelevantFlat) => flat::flat_event(bytes, &probed.members),
            // Relevant, or not one valid object: the value tree reads it, or
            // says what is wrong.
            _ => None,
        }
    });
    match targeted {
        Some(event) => Ok(event),
        None => event_of_value(bytes),
    }
}

/// The Windows event in one JSON object, as the JSON source reads it: the
/// relevance check first (`Ok(None)` for an object sighunt never maps), then the
/// targeted build for flat objects, the value tree for the rest; `Err` when the
/// bytes are not one valid JSON object.
pub fn win_event_from_json_bytes(bytes: &[u8]) -> Result<Option<WinEvent>, String> {
    event_of_piece(Ok(bytes))
}

/// The relevance check of [`certainly_irrelevant`] with serde_json alone (the
/// check before the scanner; kept for benchmarks and tests as the reference).
#[doc(hidden)]
pub fn certainly_irrelevant_by_serde(bytes: &[u8]) -> bool {
    probe::serde_inspect(bytes) == Some(true)
}

/// The event read through a `serde_json::Value` (the path for every shape, and the
/// oracle of the targeted build).
fn event_of_value(bytes: &[u8]) -> Result<Option<WinEvent>, String> {
    let value = serde_json::from_slice::<Value>(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    Ok(win_event_from_json(&value))
}

impl LineParser for WinJsonParser {
    fn line(&mut self, line: &[u8], line_no: u64, sink: &mut dyn EventSink) {
        self.splitter.line = line_no;
        let line = if line_no == 1 {
            line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
        } else {
            line
        };
        self.feed(line, sink);
        self.feed(b"\n", sink);
    }

    fn finish(&mut self, sink: &mut dyn EventSink) {
        let WinJsonParser {
            name,
            splitter,
            mapper,
        } = self;
        splitter.finish(&mut |line, piece| handle_piece(name, mapper, line, piece, sink));
        mapper.finish(sink);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between values.
    Idle,
    /// Inside a value being kept.
    Value,
    /// Inside a value too large to keep.
    Discard,
    /// Skipping a line that is not JSON.
    SkipLine,
}

/// Cuts a byte stream into top-level JSON objects (the elements of a top-level array
/// count as top-level).
#[derive(Debug)]
pub struct JsonSplitter {
    buf: Vec<u8>,
    state: State,
    depth: u32,
    in_string: bool,
    escape: bool,
    in_array: bool,
    /// Current 1-based line.
    pub line: u64,
    start_line: u64,
    /// Known once the first object is complete: one object per line (JSON Lines), where
    /// an object still open at the end of its line is broken and is dropped there
    /// instead of swallowing the lines after it.
    line_mode: Option<bool>,
    /// In JSON Lines, drop whole lines that are one valid object of an event id
    /// sighunt never maps (the relevance probe) without cutting them byte by byte: what they
    /// would have become is nothing. Off by default (a plain object splitter).
    pub skip_irrelevant: bool,
    /// The last byte was a newline.
    line_start: bool,
    /// JSON Lines with `skip_irrelevant`: the start of a line the input has not
    /// finished yet (cut by the end of the bytes pushed), kept until its newline
    /// comes so that the whole line takes the fast path instead of the byte loop.
    carry: Vec<u8>,
}

impl Default for JsonSplitter {
    fn default() -> Self {
        JsonSplitter {
            buf: Vec::new(),
            state: State::Idle,
            depth: 0,
            in_string: false,
            escape: false,
            in_array: false,
            line: 1,
            start_line: 1,
            line_mode: None,
            skip_irrelevant: false,
            line_start: false,
            carry: Vec::new(),
        }
    }
}

type PieceFn<'a> = dyn FnMut(u64, Result<&[u8], String>) + 'a;

impl JsonSplitter {
    /// Feeds bytes; each complete object (or error) goes to `out` with its line.
    pub fn push(&mut self, mut bytes: &[u8], out: &mut PieceFn<'_>) {
        if !self.carry.is_empty() {
            let newline = memchr::memchr(b'\n', bytes);
            let wanted = newline.map_or(bytes.len(), |n| n + 1);
            if self.carry.len() + wanted > MAX_EVENT_BYTES {
                // Too long to keep: the byte loop reads it (and reports it).
                let carry = std::mem::take(&mut self.carry);
                self.push_bytes(&carry, false, out);
            } else {
                self.carry.extend_from_slice(&bytes[..wanted]);
                bytes = &bytes[wanted..];
                if newline.is_none() {
                    return;
                }
                // The whole line, from its start: what the byte loop would have
                // made of it, at once.
                let line = std::mem::take(&mut self.carry);
                self.push_bytes(&line, false, out);
                self.carry = line;
                self.carry.clear();
            }
        }
        self.push_bytes(bytes, true, out);
    }

    /// [`Self::push`] without the carried line; `may_carry`: a line cut at the end of
    /// `bytes` may be kept for the next push.
    fn push_bytes(&mut self, bytes: &[u8], may_carry: bool, out: &mut PieceFn<'_>) {
        let mut i = 0;
        while i < bytes.len() {
            // JSON Lines: a whole line that is one valid object is taken (or, when
            // irrelevant, dropped) at once; anything else goes byte by byte.
            if self.skip_irrelevant
                && self.line_mode == Some(true)
                && self.state == State::Idle
                && !self.in_array
                && bytes[i] == b'{'
            {
                if let Some(n) = memchr::memchr(b'\n', &bytes[i..]) {
                    let line = &bytes[i..i + n];
                    let end = line
                        .iter()
                        .rposition(|b| !matches!(b, b' ' | b'\t' | b'\r'))
                        .map_or(0, |e| e + 1);
                    let object = &line[..end];
                    if let Some(relevance) = PROBED.with_borrow_mut(|p| p.check(object)) {
                        if relevance != Relevance::Irrelevant {
                            out(self.line, Ok(object));
                            PROBED.with_borrow_mut(|p| p.object = (0, 0));
                        }
                        self.line += 1;
                        i += n + 1;
                        continue;
                    }
                } else if may_carry && bytes.len() - i <= MAX_EVENT_BYTES {
                    self.carry.extend_from_slice(&bytes[i..]);
                    return;
                }
            }
            // Inside a string only `"`, `\` and newlines matter: jump to the next.
            if self.in_string && !self.escape && matches!(self.state, State::Value | State::Discard)
            {
                let rest = &bytes[i..];
                let n = memchr::memchr3(b'"', b'\\', b'\n', rest).unwrap_or(rest.len());
                if n > 0 {
                    self.keep(&rest[..n], out);
                    i += n;
                    continue;
                }
            }
            if self.state == State::SkipLine {
                match memchr::memchr(b'\n', &bytes[i..]) {
                    Some(n) => i += n,
                    None => return,
                }
            }
            let b = bytes[i];
            i += 1;
            match self.state {
                State::Idle => match b {
                    b'\n' => {
                        self.line += 1;
                        // JSON Lines: every line is read on its own, an array opened on
                        // one does not reach into the next, so a line reads the same
                        // wherever reading starts (parallel ranges, ranged.rs).
                        if self.line_mode == Some(true) {
                            self.in_array = false;
                        }
                    }
                    b' ' | b'\t' | b'\r' => {}
                    b'{' => self.start(b),
                    b'[' if self.in_array => self.start(b),
                    b'[' => self.in_array = true,
                    b']' if self.in_array => self.in_array = false,
                    b',' if self.in_array => {}
                    // The separators of an array written one element per line.
                    b',' | b']' if self.line_mode == Some(true) => {}
                    _ => {
                        out(
                            self.line,
                            Err("not a JSON object; line skipped".to_string()),
                        );
                        self.state = State::SkipLine;
                        // Whatever array this was, it is not one of events.
                        self.in_array = false;
                    }
                },
                State::SkipLine => {
                    if b == b'\n' {
                        self.line += 1;
                        self.state = State::Idle;
                    }
                }
                State::Value | State::Discard => {
                    if self.state == State::Value {
                        if self.buf.len() >= MAX_EVENT_BYTES {
                            out(
                                self.start_line,
                                Err(format!(
                                    "object larger than {MAX_EVENT_BYTES} bytes; skipped"
                                )),
                            );
                            self.buf = Vec::new();
                            self.state = State::Discard;
                        } else {
                            self.buf.push(b);
                        }
                    }
                    if b == b'\n' {
                        self.line += 1;
                        if self.line_mode == Some(true) {
                            self.in_array = false;
                        }
                        // A raw newline never occurs inside a JSON string: an object
                        // still in a string at the end of its line was cut there.
                        if self.line_mode == Some(true) || self.in_string {
                            if self.state == State::Value {
                                out(
                                    self.start_line,
                                    Err("incomplete JSON object; line skipped".to_string()),
                                );
                            }
                            self.state = State::Idle;
                        }
                        self.line_start = true;
                        continue;
                    }
                    let at_line_start = std::mem::take(&mut self.line_start);
                    if at_line_start
                        && b == b'{'
                        && !self.in_string
                        && self.line_mode.is_none()
                        && self.start_line < self.line
                    {
                        // Before the first object is complete, an object opening at the
                        // very start of a line while another is open means that one was
                        // cut (a cut first line of JSON Lines): report it, start over.
                        if self.state == State::Value {
                            out(
                                self.start_line,
                                Err("incomplete JSON object; line skipped".to_string()),
                            );
                        }
                        self.start(b);
                        continue;
                    }
                    if self.in_string {
                        if self.escape {
                            self.escape = false;
                        } else if b == b'\\' {
                            self.escape = true;
                        } else if b == b'"' {
                            self.in_string = false;
                        }
                        continue;
                    }
                    match b {
                        b'"' => self.in_string = true,
                        b'{' | b'[' => self.depth += 1,
                        b'}' | b']' => {
                            self.depth -= 1;
                            if self.depth == 0 {
                                if self.state == State::Value {
                                    self.line_mode.get_or_insert(self.start_line == self.line);
                                    out(self.start_line, Ok(&self.buf));
                                }
                                self.state = State::Idle;
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// Keeps string bytes (none of them `"`, `\\` or a newline) of the current
    /// value, as the byte loop would one by one: the value is dropped, and reported,
    /// once it would grow past [`MAX_EVENT_BYTES`].
    fn keep(&mut self, span: &[u8], out: &mut PieceFn<'_>) {
        if self.state != State::Value {
            return;
        }
        let room = MAX_EVENT_BYTES.saturating_sub(self.buf.len());
        if span.len() <= room {
            self.buf.extend_from_slice(span);
            return;
        }
        out(
            self.start_line,
            Err(format!(
                "object larger than {MAX_EVENT_BYTES} bytes; skipped"
            )),
        );
        self.buf = Vec::new();
        self.state = State::Discard;
    }

    fn start(&mut self, b: u8) {
        self.line_start = false;
        self.buf.clear();
        self.buf.push(b);
        self.depth = 1;
        self.in_string = false;
        self.escape = false;
        self.start_line = self.line;
        self.state = State::Value;
    }

    /// End of input: an open object is reported as truncated.
    pub fn finish(&mut self, out: &mut PieceFn<'_>) {
        let carry = std::mem::take(&mut self.carry);
        self.push_bytes(&carry, false, out);
        if self.state == State::Value {
            out(
                self.start_line,
                Err("JSON object truncated at the end of the input".to_string()),
            );
        }
        self.state = State::Idle;
        self.buf = Vec::new();
    }
}

// ---------------------------------------------------------------------------------
// JSON shapes → WinEvent
// ---------------------------------------------------------------------------------

/// A scalar as text (numbers and booleans written as JSON writes them).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn at(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer).and_then(scalar)
}

/// The Windows event in a JSON object, or `None` when it is not one.
pub fn win_event_from_json(v: &Value) -> Option<WinEvent> {
    if !v.is_object() {
        return None;
    }
    if v.get("winlog").is_some_and(Value::is_object) {
        return winlogbeat(v);
    }
    if v.pointer("/Event/System").is_some_and(Value::is_object) {
        return evtx_dump(v);
    }
    flat(v)
}

fn parse_id(s: Option<String>) -> Option<u32> {
    s?.trim().parse().ok()
}

/// Winlogbeat / Elastic Agent.
fn winlogbeat(v: &Value) -> Option<WinEvent> {
    let w = &v["winlog"];
    let mut ev = WinEvent {
        event_id: parse_id(at(w, "/event_id").or_else(|| at(v, "/event/code"))),
        provider: at(w, "/provider_name")
            .or_else(|| at(v, "/event/provider"))
            .unwrap_or_default(),
        channel: at(w, "/channel").unwrap_or_default(),
        computer: at(w, "/computer_name")
            .or_else(|| at(v, "/host/name"))
            .or_else(|| at(v, "/host/hostname"))
            .unwrap_or_default(),
        time: at(v, "/@timestamp").and_then(|t| parse_time(&t)),
        record_id: at(w, "/record_id").and_then(|r| r.parse().ok()),
        exec_pid: at(w, "/process/pid").and_then(|p| parse_pid(&p)),
        user_sid: at(w, "/user/identifier"),
        message: at(v, "/message"),
        ..WinEvent::default()
    };
    ev.event_id?;
    if let Some(Value::Object(data)) = w.get("event_data") {
        for (k, val) in data {
            if let Some(s) = scalar(val) {
                ev.data.push((k.as_str().into(), s));
            }
        }
    }
    ecs_fields(v, &mut ev);
    Some(ev)
}

/// The ECS fields the Winlogbeat modules move out of `event_data`, put back under
/// their Windows names (only where `event_data` does not have them).
fn ecs_fields(v: &Value, ev: &mut WinEvent) {
    let user = match (at(v, "/user/domain"), at(v, "/user/name")) {
        (Some(d), Some(n)) => Some(format!("{d}\\{n}")),
        (None, Some(n)) => Some(n),
        _ => None,
    };
    let id = ev.event_id;
    let mut set = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            ev.set_default(name, value);
        }
    };
    match id {
        Some(1) | Some(3) => {
            if id == Some(1) {
                set("CommandLine", at(v, "/process/command_line"));
                set("ParentImage", at(v, "/process/parent/executable"));
                set("ParentCommandLine", at(v, "/process/parent/command_line"));
                set("ParentProcessId", at(v, "/process/parent/pid"));
                set("ParentProcessGuid", at(v, "/process/parent/entity_id"));
                set("OriginalFileName", at(v, "/process/pe/original_file_name"));
                set("CurrentDirectory", at(v, "/process/working_directory"));
            } else {
                set("DestinationIp", at(v, "/destination/ip"));
                set("DestinationPort", at(v, "/destination/port"));
                set("SourceIp", at(v, "/source/ip"));
                set("SourcePort", at(v, "/source/port"));
                let direction = at(v, "/network/direction").map(|d| d.to_ascii_lowercase());
                set(
                    "Initiated",
                    direction.map(|d| (!matches!(d.as_str(), "ingress" | "inbound")).to_string()),
                );
            }
            set("Image", at(v, "/process/executable"));
            set("ProcessId", at(v, "/process/pid"));
            set("ProcessGuid", at(v, "/process/entity_id"));
            set("User", user);
        }
        Some(4688) => {
            set("NewProcessName", at(v, "/process/executable"));
            set("CommandLine", at(v, "/process/command_line"));
            set("NewProcessId", at(v, "/process/pid"));
            set("ParentProcessName", at(v, "/process/parent/executable"));
        }
        Some(4104) => {
            set(
                "ScriptBlockText",
                at(v, "/powershell/file/script_block_text"),
            );
            set("ScriptBlockId", at(v, "/powershell/file/script_block_id"));
            set("MessageNumber", at(v, "/powershell/sequence"));
            set("MessageTotal", at(v, "/powershell/total"));
            set("Path", at(v, "/file/path"));
        }
        Some(4103) | Some(800) => {
            set("CommandText", at(v, "/powershell/command/value"));
            set("HostApplication", at(v, "/process/command_line"));
            set("ScriptName", at(v, "/file/path"));
            set("User", user);
        }
        _ => {}
    }
}

/// `{"Event": {"System": {…}, "EventData": {…}}}` (evtx_dump, chainsaw, Hayabusa).
fn evtx_dump(v: &Value) -> Option<WinEvent> {
    let sys = &v["Event"]["System"];
    let text = |x: &Value| scalar(x).or_else(|| x.get("#text").and_then(scalar));
    let attr = |x: &Value, name: &str| {
        x.get("#attributes")
            .and_then(|a| a.get(name))
            .and_then(scalar)
    };
    let mut ev = WinEvent {
        event_id: parse_id(sys.get("EventID").and_then(text)),
        provider: sys
            .get("Provider")
            .and_then(|p| attr(p, "Name"))
            .unwrap_or_default(),
        channel: sys.get("Channel").and_then(text).unwrap_or_default(),
        computer: sys.get("Computer").and_then(text).unwrap_or_default(),
        time: sys
            .get("TimeCreated")
            .and_then(|t| attr(t, "SystemTime"))
            .and_then(|t| parse_time(&t)),
        record_id: sys
            .get("EventRecordID")
            .and_then(text)
            .and_then(|r| r.parse().ok()),
        exec_pid: sys
            .get("Execution")
            .and_then(|e| attr(e, "ProcessID"))
            .and_then(|p| parse_pid(&p)),
        user_sid: sys.get("Security").and_then(|s| attr(s, "UserID")),
        ..WinEvent::default()
    };
    ev.event_id?;
    for section in ["EventData", "UserData"] {
        let Some(Value::Object(data)) = v["Event"].get(section) else {
            continue;
        };
        for (k, val) in data {
            if k == "#attributes" {
                continue;
            }
            if k == "Data" || k == "#text" {
                unnamed(val, &mut ev.unnamed);
            } else if let Some(s) = scalar(val) {
                ev.data.push((k.as_str().into(), s));
            } else if let Value::Object(inner) = val {
                // UserData's one wrapper element.
                for (k2, v2) in inner {
                    if let Some(s) = scalar(v2) {
                        ev.data.push((k2.as_str().into(), s));
                    }
                }
            }
        }
    }
    Some(ev)
}

fn unnamed(val: &Value, out: &mut Vec<String>) {
    match val {
        Value::Array(items) => out.extend(items.iter().filter_map(scalar)),
        Value::Object(o) => {
            if let Some(t) = o.get("#text") {
                unnamed(t, out);
            }
        }
        other => out.extend(scalar(other)),
    }
}

/// NXLog/OTRF (and similar flat exports): EventData at the top level.
fn flat(v: &Value) -> Option<WinEvent> {
    let first = |keys: &[&str]| keys.iter().find_map(|k| v.get(*k).and_then(scalar));
    let event_id = parse_id(first(&["EventID", "EventId", "event_id", "Id"]))?;
    let mut ev = WinEvent {
        event_id: Some(event_id),
        provider: first(&["SourceName", "ProviderName", "Provider", "Provider_Name"])
            .unwrap_or_default(),
        channel: first(&["Channel", "LogName", "channel"]).unwrap_or_default(),
        computer: first(&["Hostname", "Computer", "MachineName", "computer_name"])
            .unwrap_or_default(),
        // Sysmon's own UtcTime before the collector's timestamps.
        time: [
            "TimeCreated",
            "UtcTime",
            "@timestamp",
            "TimeGenerated",
            "EventTime",
        ]
        .iter()
        .find_map(|k| v.get(*k).and_then(scalar).and_then(|t| parse_time(&t))),
        record_id: first(&["RecordNumber", "EventRecordID", "RecordId"])
            .and_then(|r| r.parse().ok()),
        exec_pid: first(&["ExecutionProcessID"]).and_then(|p| parse_pid(&p)),
        user_sid: first(&["UserID"]).filter(|s| s.starts_with("S-1-")),
        message: first(&["Message", "message", "RenderedDescription"]),
        ..WinEvent::default()
    };
    if let Value::Object(map) = v {
        for (k, val) in map {
            if let Some(s) = scalar(val) {
                ev.data.push((k.as_str().into(), s));
            }
        }
    }
    // The 2022 OTRF exports carry EventData as an XML string as well.
    if let Some(xml) = v.get("EventData").and_then(Value::as_str)
        && xml.trim_start().starts_with('<')
    {
        let wrapped = format!("<Event>{xml}</Event>");
        if let Ok(parsed) = parse_event_xml(wrapped.as_bytes()) {
            for (k, val) in parsed.data {
                ev.set_default(&k, val);
            }
            ev.unnamed = parsed.unnamed;
        }
    }
    Some(ev)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pieces `bytes` is cut into when fed `chunk` bytes at a time.
    fn pieces(bytes: &[u8], chunk: usize) -> Vec<(u64, Result<Vec<u8>, String>)> {
        pieces_with(bytes, chunk, false)
    }

    fn pieces_with(
        bytes: &[u8],
        chunk: usize,
        skip_irrelevant: bool,
    ) -> Vec<(u64, Result<Vec<u8>, String>)> {
        let mut splitter = JsonSplitter {
            skip_irrelevant,
            ..JsonSplitter::default()
        };
        let mut out = Vec::new();
        let mut keep = |line: u64, piece: Result<&[u8], String>| {
            out.push((line, piece.map(<[u8]>::to_vec)));
        };
        for part in bytes.chunks(chunk.max(1)) {
            splitter.push(part, &mut keep);
        }
        splitter.finish(&mut keep);
        out
    }

    #[test]
    fn the_corpus_ndjson_is_cut_into_its_lines_whatever_the_chunk_size() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/windows");
        let Ok(text) = std::fs::read(
            dir.join("OTRF_Security-Datasets_empire_launcher_vbs_2020-09-04160940.json"),
        ) else {
            eprintln!("SKIP: corpus absent");
            return;
        };
        // The oracle: the file's non-empty lines, numbered.
        let want: Vec<(u64, Result<Vec<u8>, String>)> = text
            .split(|&b| b == b'\n')
            .enumerate()
            .filter(|(_, l)| !l.trim_ascii().is_empty())
            .map(|(i, l)| (i as u64 + 1, Ok(l.trim_ascii().to_vec())))
            .collect();
        assert!(want.len() > 1000);
        for chunk in [1, 7, 4096, text.len()] {
            assert!(pieces(&text, chunk) == want, "chunk size {chunk}");
        }
    }

    #[test]
    fn strings_with_escapes_quotes_and_braces_split_alike_in_any_chunking() {
        let doc = br#"[{"a":"x\\\"}{[","b":["\\",{"c":"\"\n"}]},
{"d":"}"} {"e":"\u0022"}]
{"f":"unterminated
{"g":1}"#;
        let want = pieces(doc, 1);
        assert_eq!(want.len(), 5, "{want:?}");
        for chunk in 2..doc.len() + 1 {
            assert_eq!(pieces(doc, chunk), want, "chunk size {chunk}");
        }
    }

    #[test]
    fn skipping_irrelevant_lines_drops_exactly_what_the_probe_drops() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/windows");
        let Ok(mut text) = std::fs::read(
            dir.join("OTRF_Security-Datasets_empire_psremoting_stager_2020-09-20170827.json"),
        ) else {
            eprintln!("SKIP: corpus absent");
            return;
        };
        // Broken and odd lines in the middle: each goes the byte-by-byte way.
        text.extend_from_slice(
            b"{\"EventID\":5158} {\"EventID\":4104}\n{\"EventID\":4688,\n  \n{\"EventID\":\"\xff\"}\r\nnot json\n{\"EventID\":4104,\"x\":[1,{\"y\":\"}\"}]}\n",
        );
        text.extend_from_slice(&text.clone()[..200_000]);
        // What reaches the mapper: pieces the probe does not drop. Lines cut by a
        // chunk edge go byte by byte and are dropped after; the rest before.
        let kept = |pieces: Vec<(u64, Result<Vec<u8>, String>)>| -> Vec<_> {
            pieces
                .into_iter()
                .filter(|(_, p)| !p.as_ref().is_ok_and(|b| certainly_irrelevant(b)))
                .collect()
        };
        let want = kept(pieces(&text, 64 * 1024));
        assert!(want.len() > 100);
        for chunk in [7, 4096, 64 * 1024, text.len()] {
            let got = pieces_with(&text, chunk, true);
            assert!(kept(got) == want, "chunk size {chunk}");
        }
        // With the whole input at once, no irrelevant piece is even cut out.
        let whole = pieces_with(&text, text.len(), true);
        let dropped_early = whole.len() < pieces(&text, text.len()).len() / 2;
        assert!(dropped_early, "{} pieces", whole.len());
    }
}
