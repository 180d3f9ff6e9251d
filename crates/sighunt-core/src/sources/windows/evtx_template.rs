//! Windows events built straight from an EVTX record's template, without rendering
//! the record to XML and parsing that back.
//!
//! A record is almost always one template instance: a reference to a template
//! definition kept once per chunk (a BinXML element tree with numbered
//! substitutions, MS-EVEN6 §2.2.12; libyal's "Windows XML Event Log (EVTX)" format
//! document, §4 "Binary XML") and the substitution values of this record. Each
//! definition is read here once per chunk into a small tree ([`Template`]); a record
//! then only needs its values (`EvtxRecord::template_instances`, from the evtx crate)
//! put into that tree, and the tree walked through the same [`EventBuilder`] that
//! event XML goes through.
//!
//! The reader covers what Windows writes for the events sighunt maps: elements,
//! attributes, static text and substitutions of scalar types. Anything else (a
//! nested template or BinXML fragment in a value, array values, which repeat their
//! element, entity and character references, CDATA, processing instructions, a
//! definition that does not parse) makes [`TemplateReader::build`] return `None`,
//! and the caller renders the record to XML as before: no field is ever lost, and
//! the test `every_corpus_record_builds_as_its_xml_does` holds every record of the
//! shared corpus to the round trip's result.

use std::fmt::Write as _;

use std::collections::HashMap;
use std::rc::Rc;

use evtx::Utf16LeSlice;
use evtx::binxml::value_variant::{BinXmlValue, FileTime, SysTime};

use super::WinEvent;
use super::event_builder::EventBuilder;

/// Deepest element nesting of a template read here (Windows' go 4 deep); deeper ones
/// take the XML round trip, which bounds the walk's recursion.
const MAX_DEPTH: usize = 32;

/// Template definitions of one chunk, by their offset in the chunk, read on first use.
pub struct TemplateReader {
    /// `None`: the definition at that offset is not one this reader handles.
    templates: HashMap<u32, Option<Rc<Template>>>,
    /// One record's walk budget ([`MAX_WALK_NODES`], [`MAX_WALK_BYTES`]).
    walk_nodes: usize,
    walk_bytes: usize,
}

impl Default for TemplateReader {
    fn default() -> Self {
        TemplateReader {
            templates: HashMap::new(),
            walk_nodes: MAX_WALK_NODES,
            walk_bytes: MAX_WALK_BYTES,
        }
    }
}

/// A template definition: its elements, the root first.
#[derive(Debug)]
struct Template {
    elements: Vec<Element>,
}

#[derive(Debug)]
struct Element {
    /// The local name (no namespace prefix).
    local: Box<str>,
    /// A substitution whose NullType value leaves this element out (MS-EVEN6 2.2.12).
    dependency: Option<u16>,
    attrs: Vec<Attr>,
    children: Vec<Child>,
}

#[derive(Debug)]
struct Attr {
    local: Box<str>,
    parts: Vec<Part>,
}

#[derive(Debug)]
enum Part {
    /// Static text, already as XML parsing would give it back.
    Text(Box<str>),
    /// Substitution `index`; an `optional` one with an empty value writes nothing.
    Sub { index: u16, optional: bool },
}

#[derive(Debug)]
enum Child {
    Part(Part),
    Element(usize),
}

/// A substitution value: as the evtx crate read it (the record's own instance), or
/// read here (an instance nested in a value: EventData, UserData).
#[derive(Debug, Clone)]
enum Value<'a> {
    Crate(BinXmlValue<'a>),
    /// A SID read here (the crate's SID type cannot be made outside it).
    Sid(&'a [u8]),
}

/// Deepest nesting of template instances inside values (Windows' go 1 deep).
const MAX_NESTING: usize = 4;

/// Most distinct definitions read per chunk; records of further ones take the round
/// trip (a hostile chunk can point at thousands of offsets).
const MAX_TEMPLATES_PER_CHUNK: usize = 256;

/// Most elements, text parts and values one record's walk may visit, and most bytes
/// it may write: nested instances repeat their template once per use, so a crafted
/// record could otherwise cost work and memory exponential in its size. A record over
/// either takes the round trip, which the crate bounds the same way (2^18 nodes,
/// 16 MiB of output).
const MAX_WALK_NODES: usize = 1 << 18;
const MAX_WALK_BYTES: usize = 16 << 20;

impl TemplateReader {
    /// A new chunk: the definitions of the last one no longer apply.
    pub fn new_chunk(&mut self) {
        self.templates.clear();
    }

    /// The event of a record that is one instance of the template at `def_offset` in
    /// `chunk` with `values`; `None` when this reader does not handle that template
    /// or these values (render the record instead).
    pub fn build(
        &mut self,
        chunk: &[u8],
        def_offset: u32,
        values: &[BinXmlValue<'_>],
    ) -> Option<WinEvent> {
        let values: Vec<Value<'_>> = values.iter().cloned().map(Value::Crate).collect();
        let template = self.template(chunk, def_offset)?;
        let mut builder = EventBuilder::default();
        let (nodes_left, bytes_left) = (self.walk_nodes, self.walk_bytes);
        let mut walker = Walker {
            reader: self,
            chunk,
            scratch: String::new(),
            nodes_left,
            bytes_left,
        };
        walker.walk(&template, 0, &values, &mut builder, 0)?;
        Some(builder.finish())
    }

    /// The definition at `def_offset`, read on first use.
    fn template(&mut self, chunk: &[u8], def_offset: u32) -> Option<Rc<Template>> {
        if let Some(t) = self.templates.get(&def_offset) {
            return t.clone();
        }
        if self.templates.len() >= MAX_TEMPLATES_PER_CHUNK {
            return None;
        }
        let template = read_template(chunk, def_offset).ok().map(Rc::new);
        self.templates.insert(def_offset, template.clone());
        template
    }
}

/// One record's walk over its template(s).
struct Walker<'r, 'c> {
    reader: &'r mut TemplateReader,
    chunk: &'c [u8],
    scratch: String,
    /// What is left of [`MAX_WALK_NODES`] and [`MAX_WALK_BYTES`] for this record.
    nodes_left: usize,
    bytes_left: usize,
}

impl<'c> Walker<'_, 'c> {
    /// Counts one node visited; `None` once the record's budget is spent.
    fn visit(&mut self) -> Option<()> {
        self.nodes_left = self.nodes_left.checked_sub(1)?;
        Some(())
    }

    /// Counts `bytes` written; `None` once the record's budget is spent.
    fn wrote(&mut self, bytes: usize) -> Option<()> {
        self.bytes_left = self.bytes_left.checked_sub(bytes)?;
        Some(())
    }

    /// Writes element `at` of `t` and what is under it into `builder`.
    fn walk(
        &mut self,
        t: &Template,
        at: usize,
        values: &[Value<'c>],
        builder: &mut EventBuilder,
        nesting: usize,
    ) -> Option<()> {
        self.visit()?;
        let element = t.elements.get(at)?;
        let wanted = builder.open(element.local.as_bytes()).ok()?;
        if !wanted.is_empty() {
            for attr in element
                .attrs
                .iter()
                .filter(|a| a.local.as_bytes() == wanted)
            {
                // An attribute whose parts all write nothing is left out.
                self.scratch.clear();
                let mut present = false;
                for part in &attr.parts {
                    match part {
                        Part::Text(text) => {
                            present = true;
                            self.scratch.push_str(text);
                        }
                        Part::Sub { .. } => {
                            if let Some(value) = resolve(part, values) {
                                present = true;
                                push_value(&mut self.scratch, value)?;
                            }
                        }
                    }
                }
                self.visit()?;
                self.wrote(self.scratch.len())?;
                if present {
                    builder.attribute(normalize_attribute(&self.scratch));
                }
            }
        }
        for child in &element.children {
            self.visit()?;
            match child {
                Child::Part(Part::Text(text)) => {
                    self.wrote(text.len())?;
                    builder.text(text);
                }
                Child::Part(part) => match resolve(part, values) {
                    None => {}
                    Some(Value::Crate(BinXmlValue::BinXmlType(bytes))) => {
                        self.nested(bytes, builder, nesting)?;
                    }
                    Some(value) => match builder.text_mut() {
                        Some(out) => {
                            let before = out.len();
                            push_value(out, value)?;
                            let written = out.len().saturating_sub(before);
                            self.wrote(written)?;
                        }
                        None => check_value(value)?,
                    },
                },
                Child::Element(child) => {
                    let left_out = t.elements.get(*child)?.dependency.is_some_and(|d| {
                        matches!(
                            values.get(usize::from(d)),
                            Some(Value::Crate(BinXmlValue::NullType))
                        )
                    });
                    if !left_out {
                        self.walk(t, *child, values, builder, nesting)?;
                    }
                }
            }
        }
        // XML parsing reads every line end as `\n`.
        if let Some(text) = builder.text_mut().filter(|s| s.contains('\r')) {
            *text = text.replace("\r\n", "\n").replace('\r', "\n");
        }
        builder.close().ok()?;
        Some(())
    }

    /// A BinXML fragment in a value, `bytes` inside the chunk: one template instance
    /// (header, instance token, then its definition's offset and values), written in
    /// place.
    fn nested(
        &mut self,
        bytes: &'c [u8],
        builder: &mut EventBuilder,
        nesting: usize,
    ) -> Option<()> {
        if nesting >= MAX_NESTING {
            return None;
        }
        let start = (bytes.as_ptr() as usize).checked_sub(self.chunk.as_ptr() as usize)?;
        let end = start.checked_add(bytes.len())?;
        if end > self.chunk.len() || !matches!(bytes, [0x0f, _, _, _, 0x0c, ..]) {
            return None;
        }
        let mut c = Cursor {
            data: self.chunk,
            pos: start + 5,
            end,
        };
        let (def_offset, values) = read_instance(&mut c).ok()?;
        // Nothing but the end of the fragment may follow.
        if !matches!(self.chunk.get(c.pos..end)?, [] | [0x00, ..]) {
            return None;
        }
        let template = self.reader.template(self.chunk, def_offset)?;
        self.walk(&template, 0, &values, builder, nesting + 1)
    }
}

/// A template instance after its token: the definition's offset (skipping the
/// definition when it is stored right there) and the values.
fn read_instance<'c>(c: &mut Cursor<'c>) -> Result<(u32, Vec<Value<'c>>), Unsupported> {
    c.skip(1 + 4)?; // a constant, the template id
    let def_offset = c.u32()?;
    if def_offset as usize == c.pos {
        c.skip(4 + 16)?;
        let size = c.u32()? as usize;
        c.skip(size)?;
    }
    let count = c.u32()? as usize;
    let descriptors = c.bytes(count.checked_mul(4).ok_or(Unsupported("count"))?)?;
    let mut values = Vec::with_capacity(count);
    for d in descriptors.chunks_exact(4) {
        let size = usize::from(u16::from_le_bytes([d[0], d[1]]));
        let bytes = c.bytes(size)?;
        values.push(raw_value(d[2], bytes).ok_or(Unsupported("value type"))?);
    }
    Ok((def_offset, values))
}

/// A value of type `ty` stored in `bytes`, as the crate reads it.
fn raw_value(ty: u8, bytes: &[u8]) -> Option<Value<'_>> {
    use BinXmlValue as V;
    fn n<const N: usize>(b: &[u8]) -> Option<[u8; N]> {
        b.try_into().ok()
    }
    Some(Value::Crate(match ty {
        0x00 => V::NullType,
        0x01 => {
            if bytes.len() % 2 != 0 {
                return None;
            }
            let units = bytes
                .chunks_exact(2)
                .position(|u| u == [0, 0])
                .unwrap_or(bytes.len() / 2);
            V::StringType(Utf16LeSlice::new(bytes, units))
        }
        0x03 => V::Int8Type(i8::from_le_bytes(n(bytes)?)),
        0x04 => V::UInt8Type(u8::from_le_bytes(n(bytes)?)),
        0x05 => V::Int16Type(i16::from_le_bytes(n(bytes)?)),
        0x06 => V::UInt16Type(u16::from_le_bytes(n(bytes)?)),
        0x07 => V::Int32Type(i32::from_le_bytes(n(bytes)?)),
        0x08 => V::UInt32Type(u32::from_le_bytes(n(bytes)?)),
        0x09 => V::Int64Type(i64::from_le_bytes(n(bytes)?)),
        0x0a => V::UInt64Type(u64::from_le_bytes(n(bytes)?)),
        0x0b => V::Real32Type(f32::from_le_bytes(n(bytes)?)),
        0x0c => V::Real64Type(f64::from_le_bytes(n(bytes)?)),
        0x0d => match i32::from_le_bytes(n(bytes)?) {
            0 => V::BoolType(false),
            1 => V::BoolType(true),
            raw => V::Int32Type(raw),
        },
        0x0e => V::BinaryType(bytes),
        0x0f => V::GuidType(n(bytes)?),
        0x10 if bytes.len() == 4 => V::HexInt32Type(u32::from_le_bytes(n(bytes)?)),
        0x10 => V::HexInt64Type(u64::from_le_bytes(n(bytes)?)),
        0x11 => V::FileTimeType(FileTime(u64::from_le_bytes(n(bytes)?))),
        0x12 => V::SysTimeType(SysTime::from_bytes(&n(bytes)?)),
        0x13 => return Some(Value::Sid(bytes)),
        0x14 => V::HexInt32Type(u32::from_le_bytes(n(bytes)?)),
        0x15 => V::HexInt64Type(u64::from_le_bytes(n(bytes)?)),
        0x21 => V::BinXmlType(bytes),
        _ => return None,
    }))
}

/// What the renderer leaves out for an optional substitution.
fn optional_empty(value: &Value<'_>) -> bool {
    match value {
        Value::Crate(BinXmlValue::NullType) => true,
        Value::Crate(BinXmlValue::StringType(s)) => s.is_empty(),
        Value::Crate(BinXmlValue::AnsiStringType(s)) => s.is_empty(),
        Value::Crate(BinXmlValue::BinaryType(b) | BinXmlValue::BinXmlType(b)) => b.is_empty(),
        _ => false,
    }
}

/// The value `part` stands for: `None` when it writes nothing.
fn resolve<'v, 'a>(part: &Part, values: &'v [Value<'a>]) -> Option<&'v Value<'a>> {
    match part {
        Part::Text(_) => None,
        Part::Sub { index, optional } => values
            .get(usize::from(*index))
            .filter(|v| !(*optional && optional_empty(v))),
    }
}

/// An attribute value as XML parsing normalizes it: each line end and tab a space.
fn normalize_attribute(value: &str) -> String {
    if value.contains(['\r', '\n', '\t']) {
        value.replace("\r\n", " ").replace(['\r', '\n', '\t'], " ")
    } else {
        value.to_string()
    }
}

/// A character as it comes back from the renderer's XML: C0 controls other than
/// tab and line ends, and U+FFFE/U+FFFF, which XML cannot carry, are written `_`.
fn xml_char(c: char) -> char {
    match c {
        '\t' | '\n' | '\r' => c,
        '\0'..='\x1f' | '\u{fffe}' | '\u{ffff}' => '_',
        _ => c,
    }
}

/// UTF-16LE text as it comes back from the renderer's XML (a lone surrogate is `_`).
fn push_utf16(out: &mut String, bytes: &[u8]) {
    // Most values are printable ASCII: copied as bytes, without decoding each unit.
    let plain = |u: &[u8]| u[1] == 0 && (0x20..0x80).contains(&u[0]);
    if bytes.chunks_exact(2).all(plain) {
        let mut text = std::mem::take(out).into_bytes();
        text.extend(bytes.chunks_exact(2).map(|u| u[0]));
        // Only ASCII was added to valid UTF-8.
        *out = String::from_utf8(text).unwrap_or_default();
        return;
    }
    let units = bytes
        .chunks_exact(2)
        .map(|u| u16::from_le_bytes([u[0], u[1]]));
    out.extend(char::decode_utf16(units).map(|c| c.map_or('_', xml_char)));
}

/// Whether [`push_value`] writes `value` (the rest take the round trip).
fn check_value(value: &Value<'_>) -> Option<()> {
    push_value(&mut String::new(), value)
}

/// `value`'s text as the renderer writes it; `None` for the values it writes some
/// other way (arrays repeat their element, nested BinXML outside element content).
/// `SizeT` is left out: the crate writes it in decimal or hex depending on its path.
fn push_value(out: &mut String, value: &Value<'_>) -> Option<()> {
    use BinXmlValue as V;
    let value = match value {
        Value::Sid(bytes) => {
            push_sid(out, bytes);
            return Some(());
        }
        Value::Crate(v) => v,
    };
    // `write!` to a String cannot fail.
    let _ = match value {
        V::NullType => Ok(()),
        V::StringType(s) => {
            push_utf16(out, s.as_bytes());
            Ok(())
        }
        V::AnsiStringType(s) => {
            out.extend(s.chars().map(xml_char));
            Ok(())
        }
        V::Int8Type(v) => write!(out, "{v}"),
        V::UInt8Type(v) => write!(out, "{v}"),
        V::Int16Type(v) => write!(out, "{v}"),
        V::UInt16Type(v) => write!(out, "{v}"),
        V::Int32Type(v) => write!(out, "{v}"),
        V::UInt32Type(v) => write!(out, "{v}"),
        V::Int64Type(v) => write!(out, "{v}"),
        V::UInt64Type(v) => write!(out, "{v}"),
        V::BoolType(v) => write!(out, "{v}"),
        V::HexInt32Type(v) => write!(out, "0x{v:x}"),
        V::HexInt64Type(v) => write!(out, "0x{v:x}"),
        // The crate's own text for these (its Display differs from its XML only in how
        // strings are escaped).
        V::Real32Type(_)
        | V::Real64Type(_)
        | V::BinaryType(_)
        | V::GuidType(_)
        | V::FileTimeType(_)
        | V::SysTimeType(_)
        | V::SidType(_) => write!(out, "{value}"),
        _ => return None,
    };
    Some(())
}

/// A SID as Windows writes it: `S-revision-authority-sub…` (authority 48-bit
/// big-endian, then as many 32-bit little-endian sub-authorities as it says).
fn push_sid(out: &mut String, b: &[u8]) {
    let [revision, count, a0, a1, a2, a3, a4, a5, ref subs @ ..] = *b else {
        out.push_str("S-?");
        return;
    };
    let authority = u64::from_be_bytes([0, 0, a0, a1, a2, a3, a4, a5]);
    let _ = write!(out, "S-{revision}-{authority}");
    for sub in subs.chunks_exact(4).take(usize::from(count)) {
        let _ = write!(
            out,
            "-{}",
            u32::from_le_bytes([sub[0], sub[1], sub[2], sub[3]])
        );
    }
}

/// Why a template definition is not read here (the record is rendered instead).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Unsupported(&'static str);

/// Reads the template definition at `offset` in `chunk`.
fn read_template(chunk: &[u8], offset: u32) -> Result<Template, Unsupported> {
    let mut c = Cursor {
        data: chunk,
        pos: offset as usize,
        end: chunk.len(),
    };
    // Next-template link, GUID, then the size of the BinXML that follows.
    c.skip(4 + 16)?;
    let size = c.u32()? as usize;
    let end = c.pos.checked_add(size).ok_or(Unsupported("size"))?;
    if end > chunk.len() {
        return Err(Unsupported("definition past the chunk"));
    }
    c.end = end;
    TemplateParser::default().parse(&mut c)
}

/// Bounds-checked little-endian reads over a chunk; offsets are the chunk's.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    /// Where this read must stop (the definition's end, or the chunk's).
    end: usize,
}

impl<'a> Cursor<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], Unsupported> {
        let end = self.pos.checked_add(n).ok_or(Unsupported("offset"))?;
        if end > self.end {
            return Err(Unsupported("truncated"));
        }
        let b = self
            .data
            .get(self.pos..end)
            .ok_or(Unsupported("truncated"))?;
        self.pos = end;
        Ok(b)
    }
    fn skip(&mut self, n: usize) -> Result<(), Unsupported> {
        self.bytes(n).map(|_| ())
    }
    fn u8(&mut self) -> Result<u8, Unsupported> {
        Ok(self.bytes(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, Unsupported> {
        let b = self.bytes(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, Unsupported> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Token stream → [`Template`]. Token values: MS-EVEN6 §2.2.12 / libyal §4.
#[derive(Default)]
struct TemplateParser {
    elements: Vec<Element>,
    /// Elements whose start tag is closed and whose content is being read.
    open: Vec<usize>,
    /// The element whose start tag (attributes) is being read.
    starting: Option<usize>,
}

const FRAGMENT_HEADER: u8 = 0x0f;
const EOF: u8 = 0x00;
const CLOSE_START: u8 = 0x02;
const CLOSE_EMPTY: u8 = 0x03;
const END_ELEMENT: u8 = 0x04;
/// Tokens with this bit set say more of the same kind follows (attributes, data).
const MORE: u8 = 0x40;
const OPEN_START: u8 = 0x01;
const VALUE: u8 = 0x05;
const ATTRIBUTE: u8 = 0x06;
const SUBSTITUTION: u8 = 0x0d;
const OPTIONAL_SUBSTITUTION: u8 = 0x0e;
/// The value type of static text in a definition.
const STRING_VALUE: u8 = 0x01;

impl TemplateParser {
    fn parse(mut self, c: &mut Cursor<'_>) -> Result<Template, Unsupported> {
        loop {
            let token = c.u8()?;
            match token {
                FRAGMENT_HEADER => c.skip(3)?,
                EOF => break,
                t if t & !MORE == OPEN_START => self.open_start(c, t & MORE != 0)?,
                t if t & !MORE == ATTRIBUTE => {
                    let at = self
                        .starting
                        .ok_or(Unsupported("attribute outside a tag"))?;
                    let local = local_name(read_name(c)?)?;
                    self.elements[at].attrs.push(Attr {
                        local,
                        parts: Vec::new(),
                    });
                }
                CLOSE_START => {
                    let at = self.starting.take().ok_or(Unsupported("stray >"))?;
                    if self.open.len() >= MAX_DEPTH {
                        return Err(Unsupported("nested too deep"));
                    }
                    self.open.push(at);
                }
                CLOSE_EMPTY => {
                    self.starting.take().ok_or(Unsupported("stray />"))?;
                }
                END_ELEMENT => {
                    if self.starting.is_some() || self.open.pop().is_none() {
                        return Err(Unsupported("stray end tag"));
                    }
                }
                t if t & !MORE == VALUE => {
                    if c.u8()? != STRING_VALUE {
                        return Err(Unsupported("static value not a string"));
                    }
                    let chars = usize::from(c.u16()?);
                    let mut text = String::new();
                    push_utf16(&mut text, c.bytes(chars * 2)?);
                    self.part(Part::Text(text.into()))?;
                }
                SUBSTITUTION | OPTIONAL_SUBSTITUTION => {
                    let index = c.u16()?;
                    c.skip(1)?; // the value type; the record's values carry their own
                    self.part(Part::Sub {
                        index,
                        optional: token == OPTIONAL_SUBSTITUTION,
                    })?;
                }
                // CDATA, character and entity references, processing instructions,
                // a template instance inside a definition.
                _ => return Err(Unsupported("token not handled")),
            }
        }
        if self.elements.is_empty() || self.starting.is_some() || !self.open.is_empty() {
            return Err(Unsupported("definition ends inside an element"));
        }
        Ok(Template {
            elements: self.elements,
        })
    }

    fn open_start(&mut self, c: &mut Cursor<'_>, has_attributes: bool) -> Result<(), Unsupported> {
        if self.starting.is_some() {
            return Err(Unsupported("element inside a start tag"));
        }
        let dependency = Some(c.u16()?).filter(|&d| d != 0xffff);
        c.skip(4)?; // the element's size
        let local = local_name(read_name(c)?)?;
        if has_attributes {
            c.skip(4)?; // the attribute list's size
        }
        let at = self.elements.len();
        match self.open.last() {
            Some(&parent) => self.elements[parent].children.push(Child::Element(at)),
            // A second root.
            None if at > 0 => return Err(Unsupported("more than one root element")),
            None => {}
        }
        self.elements.push(Element {
            local,
            dependency,
            attrs: Vec::new(),
            children: Vec::new(),
        });
        self.starting = Some(at);
        Ok(())
    }

    /// Text or a substitution: in the attribute being read, or the open element.
    fn part(&mut self, part: Part) -> Result<(), Unsupported> {
        if let Some(at) = self.starting {
            let attr = self.elements[at]
                .attrs
                .last_mut()
                .ok_or(Unsupported("value in a start tag outside an attribute"))?;
            attr.parts.push(part);
            return Ok(());
        }
        let at = *self
            .open
            .last()
            .ok_or(Unsupported("value outside an element"))?;
        self.elements[at].children.push(Child::Part(part));
        Ok(())
    }
}

/// A name reference: an offset into the chunk, with the name itself right there
/// when it is the first use (next-string link u32, hash u16, length u16, UTF-16
/// characters, NUL).
fn read_name(c: &mut Cursor<'_>) -> Result<String, Unsupported> {
    let offset = c.u32()? as usize;
    // A name defined in place must end inside the definition; one defined earlier
    // may be anywhere in the chunk.
    let mut at = Cursor {
        data: c.data,
        pos: offset,
        end: if offset == c.pos { c.end } else { c.data.len() },
    };
    at.skip(6)?;
    let chars = usize::from(at.u16()?);
    let units = at.bytes(chars * 2)?;
    let name: String = char::decode_utf16(
        units
            .chunks_exact(2)
            .map(|u| u16::from_le_bytes([u[0], u[1]])),
    )
    .collect::<Result<_, _>>()
    .map_err(|_| Unsupported("name not UTF-16"))?;
    if offset == c.pos {
        c.skip(6 + 2 + chars * 2 + 2)?;
    }
    Ok(name)
}

/// The part of `name` after its namespace prefix, as XML parsing gives it; a name
/// that is not a plain XML name is left to the XML round trip.
fn local_name(name: String) -> Result<Box<str>, Unsupported> {
    let plain = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
        && !name.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.');
    if !plain {
        return Err(Unsupported("unusual name"));
    }
    Ok(match name.split_once(':') {
        Some((_, local)) => local.into(),
        None => name.into(),
    })
}

#[cfg(test)]
#[path = "evtx_template_tests.rs"]
mod tests;
