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
use super::evtx_plan::{self, Plan};

/// Deepest element nesting of a template read here (Windows' go 4 deep); deeper ones
/// take the XML round trip, which bounds the walk's recursion.
const MAX_DEPTH: usize = 32;

/// Template definitions of one chunk, by their offset in the chunk, read on first use.
pub struct TemplateReader {
    /// `None`: the definition at that offset is not one this reader handles.
    templates: HashMap<u32, Option<Rc<Template>>>,
    /// The same definitions compiled ([`Plan`]) as a record's own template, and as
    /// an instance nested under the root; `None`: walk its elements instead.
    /// A chunk uses a few definitions over and over: a short list beats hashing.
    plans: Vec<(u32, Option<Rc<Plan>>)>,
    nested_plans: Vec<(u32, Option<Rc<Plan>>)>,
    /// One record's walk budget ([`MAX_WALK_NODES`], [`MAX_WALK_BYTES`]).
    walk_nodes: usize,
    walk_bytes: usize,
    /// Whether compiled definitions are used (tests turn them off to hold the
    /// element walk to the round trip too).
    compiled: bool,
}

impl Default for TemplateReader {
    fn default() -> Self {
        TemplateReader {
            templates: HashMap::new(),
            plans: Vec::new(),
            nested_plans: Vec::new(),
            walk_nodes: MAX_WALK_NODES,
            walk_bytes: MAX_WALK_BYTES,
            compiled: true,
        }
    }
}

/// A template definition: its elements, the root first.
#[derive(Debug)]
pub(super) struct Template {
    pub(super) elements: Vec<Element>,
}

#[derive(Debug)]
pub(super) struct Element {
    /// The local name (no namespace prefix).
    pub(super) local: Box<str>,
    /// A substitution whose NullType value leaves this element out (MS-EVEN6 2.2.12).
    pub(super) dependency: Option<u16>,
    pub(super) attrs: Vec<Attr>,
    pub(super) children: Vec<Child>,
}

#[derive(Debug)]
pub(super) struct Attr {
    pub(super) local: Box<str>,
    pub(super) parts: Vec<Part>,
}

#[derive(Debug, Clone)]
pub(super) enum Part {
    /// Static text, already as XML parsing would give it back.
    Text(Box<str>),
    /// Substitution `index`; an `optional` one with an empty value writes nothing.
    Sub { index: u16, optional: bool },
}

#[derive(Debug)]
pub(super) enum Child {
    Part(Part),
    Element(usize),
}

/// A substitution value: as the evtx crate read it (the record's own instance), or
/// read here (an instance nested in a value: EventData, UserData).
#[derive(Debug, Clone)]
pub(super) enum Value<'a> {
    Crate(BinXmlValue<'a>),
    /// A SID read here (the crate's SID type cannot be made outside it).
    Sid(&'a [u8]),
    /// A string array read here: NUL-terminated UTF-16LE strings back to back
    /// (see [`string_array_items`]).
    StringArray(&'a [u8]),
}

/// The items of a string array value, each without its NUL; `None` unless the
/// renderer repeats the element for it and every item is read the same way here:
/// two items or more (one is not repeated), none empty (the renderer leaves an
/// empty one's text out), the last one ended by its NUL (the crate would read on
/// past the value for it).
pub(super) fn string_array_items(bytes: &[u8]) -> Option<Vec<&[u8]>> {
    if bytes.len() % 2 != 0 || !bytes.ends_with(&[0, 0]) {
        return None;
    }
    let mut items = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let end = first_nul_unit(rest)? * 2;
        if end == 0 {
            return None;
        }
        items.push(&rest[..end]);
        rest = &rest[end + 2..];
    }
    (items.len() > 1).then_some(items)
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
        self.plans.clear();
        self.nested_plans.clear();
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
        self.build_values(chunk, def_offset, &values)
    }

    /// [`TemplateReader::build`] of values read here: the compiled definition first,
    /// the element walk where that does not apply.
    fn build_values(
        &mut self,
        chunk: &[u8],
        def_offset: u32,
        values: &[Value<'_>],
    ) -> Option<WinEvent> {
        if let Some(plan) = self
            .plan(chunk, def_offset, false)
            .filter(|_| self.compiled)
        {
            let mut ev = WinEvent::default();
            if evtx_plan::run(&mut self.walk(chunk), &plan, values, &mut ev, 0).is_some() {
                return Some(ev);
            }
        }
        let template = self.template(chunk, def_offset)?;
        let mut builder = EventBuilder::default();
        self.walk(chunk)
            .walk(&template, 0, values, &mut builder, 0)?;
        Some(builder.finish())
    }

    /// One record's walk, with the record's budget.
    fn walk<'r, 'c>(&'r mut self, chunk: &'c [u8]) -> Walk<'r, 'c> {
        let (nodes_left, bytes_left) = (self.walk_nodes, self.walk_bytes);
        Walk {
            reader: self,
            chunk,
            scratch: String::new(),
            nodes_left,
            bytes_left,
        }
    }

    /// The record whose BinXML is `chunk[binxml]`, read without the evtx crate: a
    /// record of the standard System layout whose event id `relevant` refuses is
    /// skipped before anything is built (its values are not even decoded).
    pub fn read_record(
        &mut self,
        chunk: &[u8],
        binxml: std::ops::Range<usize>,
        relevant: fn(u32) -> bool,
    ) -> RecordRead {
        let Some(bytes @ [0x0f, _, _, _, 0x0c, ..]) = chunk.get(binxml.clone()) else {
            return RecordRead::Crate;
        };
        let mut c = Cursor {
            data: chunk,
            pos: binxml.start + 5,
            end: binxml.start + bytes.len(),
        };
        let Ok(instance) = read_instance_raw(&mut c) else {
            return RecordRead::Crate;
        };
        // A fragment of exactly one instance: nothing but its end may follow.
        if !matches!(chunk.get(c.pos..binxml.end), Some([] | [0x00, ..])) {
            return RecordRead::Crate;
        }
        if standard_layout_event_id(&instance).is_some_and(|id| !relevant(id)) {
            return RecordRead::Skipped;
        }
        let Some(values) = instance.values() else {
            return RecordRead::Crate;
        };
        match self.build_values(chunk, instance.def_offset, &values) {
            Some(ev) => RecordRead::Event(ev),
            None => RecordRead::Crate,
        }
    }

    /// The compiled definition at `def_offset` (as a record's own template, or
    /// `nested` under the root), compiled on first use.
    fn plan(&mut self, chunk: &[u8], def_offset: u32, nested: bool) -> Option<Rc<Plan>> {
        let known = if nested {
            &self.nested_plans
        } else {
            &self.plans
        };
        if let Some((_, p)) = known.iter().find(|(at, _)| *at == def_offset) {
            return p.clone();
        }
        if known.len() >= MAX_TEMPLATES_PER_CHUNK {
            return None;
        }
        let template = self.template(chunk, def_offset)?;
        let plan = evtx_plan::compile(&template, nested).ok().map(Rc::new);
        let known = if nested {
            &mut self.nested_plans
        } else {
            &mut self.plans
        };
        known.push((def_offset, plan.clone()));
        plan
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

/// What [`TemplateReader::read_record`] made of a record.
// Returned once per record and moved straight on: boxing the event would cost an
// allocation per record to save a copy nobody makes.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum RecordRead {
    /// Its event id is not one sighunt maps.
    Skipped,
    Event(WinEvent),
    /// Not read here: let the evtx crate read it.
    Crate,
}

/// One record's walk over its template(s).
pub(super) struct Walk<'r, 'c> {
    reader: &'r mut TemplateReader,
    chunk: &'c [u8],
    scratch: String,
    /// What is left of [`MAX_WALK_NODES`] and [`MAX_WALK_BYTES`] for this record.
    nodes_left: usize,
    bytes_left: usize,
}

impl<'c> Walk<'_, 'c> {
    /// Counts one node visited; `None` once the record's budget is spent.
    pub(super) fn visit(&mut self) -> Option<()> {
        self.nodes_left = self.nodes_left.checked_sub(1)?;
        Some(())
    }

    /// Counts `bytes` written; `None` once the record's budget is spent.
    pub(super) fn wrote(&mut self, bytes: usize) -> Option<()> {
        self.bytes_left = self.bytes_left.checked_sub(bytes)?;
        Some(())
    }

    /// A BinXML value under the root run as its compiled definition (see
    /// [`Walk::nested`]); `None`: walk the record's elements instead.
    pub(super) fn nested_plan(
        &mut self,
        bytes: &'c [u8],
        ev: &mut WinEvent,
        nesting: usize,
    ) -> Option<()> {
        let (def_offset, values) = self.nested_instance(bytes, nesting)?;
        let plan = self
            .reader
            .plan(self.chunk, def_offset, true)
            .filter(|_| self.reader.compiled)?;
        evtx_plan::run(self, &plan, &values, ev, nesting + 1)
    }

    /// The instance of a BinXML value `bytes` inside the chunk: its definition's
    /// offset and values.
    fn nested_instance(&self, bytes: &'c [u8], nesting: usize) -> Option<(u32, Vec<Value<'c>>)> {
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
        let instance = read_instance_raw(&mut c).ok()?;
        // Nothing but the end of the fragment may follow.
        if !matches!(self.chunk.get(c.pos..end)?, [] | [0x00, ..]) {
            return None;
        }
        Some((instance.def_offset, instance.values()?))
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
                let mut scratch = std::mem::take(&mut self.scratch);
                scratch.clear();
                let present = push_parts(&mut scratch, &attr.parts, values)?;
                self.visit()?;
                self.wrote(scratch.len())?;
                if present {
                    builder.attribute(normalize_attribute(scratch.clone()));
                }
                self.scratch = scratch;
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
                        None if writes_as_text(value) => {}
                        None => return None,
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
            *text = unix_line_ends(text);
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
        let (def_offset, values) = self.nested_instance(bytes, nesting)?;
        let template = self.reader.template(self.chunk, def_offset)?;
        self.walk(&template, 0, &values, builder, nesting + 1)
    }
}

/// A template instance as stored: its definition's offset, the value descriptors
/// (size u16, type u8, padding u8 each) and the values, back to back.
struct RawInstance<'c> {
    def_offset: u32,
    descriptors: &'c [u8],
    values: &'c [u8],
}

impl<'c> RawInstance<'c> {
    /// The values, each as the crate reads it; `None` for a type not read here.
    fn values(&self) -> Option<Vec<Value<'c>>> {
        let mut at = 0;
        let mut values = Vec::with_capacity(self.descriptors.len() / 4);
        for d in self.descriptors.chunks_exact(4) {
            let size = usize::from(u16::from_le_bytes([d[0], d[1]]));
            let bytes = self.values.get(at..at + size)?;
            at += size;
            values.push(raw_value(d[2], bytes)?);
        }
        Some(values)
    }
}

/// A template instance after its token (skipping the definition when it is stored
/// right there); the cursor ends after its values.
fn read_instance_raw<'c>(c: &mut Cursor<'c>) -> Result<RawInstance<'c>, Unsupported> {
    c.skip(1 + 4)?; // a constant, the template id
    let def_offset = c.u32()?;
    if def_offset as usize == c.pos {
        c.skip(4 + 16)?;
        let size = c.u32()? as usize;
        c.skip(size)?;
    }
    let count = c.u32()? as usize;
    let descriptors = c.bytes(count.checked_mul(4).ok_or(Unsupported("count"))?)?;
    let total = descriptors
        .chunks_exact(4)
        .map(|d| usize::from(u16::from_le_bytes([d[0], d[1]])))
        .sum();
    let values = c.bytes(total)?;
    Ok(RawInstance {
        def_offset,
        descriptors,
        values,
    })
}

/// The event id of an instance of the standard System template, read from its
/// descriptors and one value (what `evtx::standard_layout_event_id` reads from the
/// crate's values: Level, Opcode u8; Task, EventID u16; Qualifiers null or u16;
/// Keywords hex64; TimeCreated FILETIME; EventRecordID u64 at index 10); `None`
/// for any other layout.
fn standard_layout_event_id(instance: &RawInstance<'_>) -> Option<u32> {
    let d = instance.descriptors.get(..11 * 4)?;
    let ty = |i: usize| d[i * 4 + 2];
    let size = |i: usize| u16::from_le_bytes([d[i * 4], d[i * 4 + 1]]);
    let is = |i: usize, t: u8, s: u16| ty(i) == t && size(i) == s;
    let layout = is(0, 0x04, 1)
        && is(1, 0x04, 1)
        && is(2, 0x06, 2)
        && is(3, 0x06, 2)
        && (ty(4) == 0x00 || is(4, 0x06, 2))
        && (is(5, 0x15, 8) || is(5, 0x10, 8))
        && is(6, 0x11, 8)
        && is(10, 0x0a, 8);
    if !layout {
        return None;
    }
    let before: usize = (0..3).map(|i| usize::from(size(i))).sum();
    let id = instance.values.get(before..before + 2)?;
    Some(u32::from(u16::from_le_bytes([id[0], id[1]])))
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
            let units = first_nul_unit(bytes).unwrap_or(bytes.len() / 2);
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
        0x81 => return Some(Value::StringArray(bytes)),
        _ => return None,
    }))
}

/// The index of the first NUL unit of UTF-16LE `bytes`, if any: words of four units
/// without one are passed whole (a zero lane is what `x - 1` borrows from and `x`
/// lacks the top bit of; borrows only blur which lane, never whether one is there).
pub(super) fn first_nul_unit(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0001_0001_0001_0001;
    const TOPS: u64 = 0x8000_8000_8000_8000;
    let mut at = 0;
    while let Some(&[a, b, c, d, e, f, g, h]) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes([a, b, c, d, e, f, g, h]);
        if word.wrapping_sub(ONES) & !word & TOPS != 0 {
            break;
        }
        at += 8;
    }
    bytes
        .get(at..)?
        .chunks_exact(2)
        .position(|u| u == [0, 0])
        .map(|i| at / 2 + i)
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
/// Writes an attribute's parts (text and substituted values) to `out`; whether
/// any part wrote something (an attribute of only empty substitutions is left out).
pub(super) fn push_parts(out: &mut String, parts: &[Part], values: &[Value<'_>]) -> Option<bool> {
    let mut present = false;
    for part in parts {
        match part {
            Part::Text(text) => {
                present = true;
                out.push_str(text);
            }
            Part::Sub { .. } => {
                if let Some(value) = resolve(part, values) {
                    present = true;
                    push_value(out, value)?;
                }
            }
        }
    }
    Some(present)
}

pub(super) fn resolve<'v, 'a>(part: &Part, values: &'v [Value<'a>]) -> Option<&'v Value<'a>> {
    match part {
        Part::Text(_) => None,
        Part::Sub { index, optional } => values
            .get(usize::from(*index))
            .filter(|v| !(*optional && optional_empty(v))),
    }
}

/// An attribute value as XML parsing normalizes it: each line end and tab a space.
pub(super) fn normalize_attribute(value: String) -> String {
    if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | b'\t')) {
        value.replace("\r\n", " ").replace(['\r', '\n', '\t'], " ")
    } else {
        value
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
pub(super) fn push_utf16(out: &mut String, bytes: &[u8]) {
    // Most values are printable ASCII: copied 128 units at a time through a buffer on
    // the stack, four units per test while they are printable, without decoding
    // each unit; from the first other unit on, decoded.
    const BLOCK: usize = 128;
    // The high byte of each unit, and bit 7 of its low byte.
    const NOT_ASCII: u64 = 0xff80_ff80_ff80_ff80;
    const SPACE: u64 = 0x0020_0020_0020_0020;
    const BORROW: u64 = 0x8000_8000_8000_8000;
    out.reserve(bytes.len() / 2);
    let mut rest = bytes;
    loop {
        let take = (rest.len() / 2).min(BLOCK);
        let mut buf = [0u8; BLOCK];
        let mut n = 0;
        while n < take {
            if let Some(&[a, b, c, d, e, f, g, h]) = rest.get(n * 2..n * 2 + 8) {
                // Four units of 0x20..0x7f: no high byte, and none under 0x20 (a
                // lane under it borrows into its own top bit; lanes above the lowest
                // such one do not matter).
                let word = u64::from_le_bytes([a, b, c, d, e, f, g, h]);
                if n + 4 <= take && word & NOT_ASCII == 0 && word.wrapping_sub(SPACE) & BORROW == 0
                {
                    buf[n..n + 4].copy_from_slice(&[a, c, e, g]);
                    n += 4;
                    continue;
                }
            }
            // Tab and line ends are kept as they are (xml_char), like printable ASCII.
            match rest.get(n * 2..n * 2 + 2) {
                Some(&[lo, 0]) if matches!(lo, 0x20..0x80 | b'\t' | b'\n' | b'\r') => {
                    buf[n] = lo;
                    n += 1;
                }
                _ => break,
            }
        }
        // Printable ASCII is UTF-8.
        out.push_str(std::str::from_utf8(&buf[..n]).unwrap_or_default());
        rest = &rest[n * 2..];
        if n < BLOCK {
            break;
        }
    }
    if rest.len() >= 2 {
        let units = rest
            .chunks_exact(2)
            .map(|u| u16::from_le_bytes([u[0], u[1]]));
        out.extend(char::decode_utf16(units).map(|c| c.map_or('_', xml_char)));
    }
}

/// `text` with each `\r\n` and lone `\r` as `\n`, as XML parsing reads line ends.
pub(super) fn unix_line_ends(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\r') {
        out.push_str(&rest[..at]);
        out.push('\n');
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('\n') {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// `v` in decimal, without the formatting machinery.
fn push_decimal(out: &mut String, v: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut v = v;
    loop {
        at -= 1;
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[at..]).unwrap_or_default());
}

fn push_signed(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    push_decimal(out, v.unsigned_abs());
}

/// `0x` and `v` in lowercase hex, as the renderer writes hex values.
fn push_hex(out: &mut String, v: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 18];
    let mut at = buf.len();
    let mut v = v;
    loop {
        at -= 1;
        buf[at] = DIGITS[(v & 0xf) as usize];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    out.push_str("0x");
    out.push_str(std::str::from_utf8(&buf[at..]).unwrap_or_default());
}

/// A GUID as the renderer writes it: `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}`, the
/// first three groups little-endian, lowercase.
fn push_guid(out: &mut String, b: &[u8; 16]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    const ORDER: [usize; 16] = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    let mut text = [b'-'; 38];
    text[0] = b'{';
    text[37] = b'}';
    let mut n = 1;
    for (i, &at) in ORDER.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            n += 1;
        }
        text[n] = DIGITS[usize::from(b[at] >> 4)];
        text[n + 1] = DIGITS[usize::from(b[at] & 0xf)];
        n += 2;
    }
    out.push_str(std::str::from_utf8(&text).unwrap_or_default());
}

/// Whether [`push_value`] writes `value` (the rest take the round trip).
pub(super) fn writes_as_text(value: &Value<'_>) -> bool {
    use BinXmlValue as V;
    match value {
        Value::Sid(_) => true,
        Value::StringArray(_) => false,
        Value::Crate(v) => matches!(
            v,
            V::NullType
                | V::StringType(_)
                | V::AnsiStringType(_)
                | V::Int8Type(_)
                | V::UInt8Type(_)
                | V::Int16Type(_)
                | V::UInt16Type(_)
                | V::Int32Type(_)
                | V::UInt32Type(_)
                | V::Int64Type(_)
                | V::UInt64Type(_)
                | V::BoolType(_)
                | V::HexInt32Type(_)
                | V::HexInt64Type(_)
                | V::Real32Type(_)
                | V::Real64Type(_)
                | V::BinaryType(_)
                | V::GuidType(_)
                | V::FileTimeType(_)
                | V::SysTimeType(_)
                | V::SidType(_)
        ),
    }
}

/// `value`'s text as the renderer writes it; `None` for the values it writes some
/// other way (arrays repeat their element, nested BinXML outside element content).
/// `SizeT` is left out: the crate writes it in decimal or hex depending on its path.
pub(super) fn push_value(out: &mut String, value: &Value<'_>) -> Option<()> {
    use BinXmlValue as V;
    let value = match value {
        Value::Sid(bytes) => {
            push_sid(out, bytes);
            return Some(());
        }
        // The renderer repeats the element per item: only a compiled plan does that.
        Value::StringArray(_) => return None,
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
        V::Int8Type(v) => {
            push_signed(out, i64::from(*v));
            Ok(())
        }
        V::Int16Type(v) => {
            push_signed(out, i64::from(*v));
            Ok(())
        }
        V::Int32Type(v) => {
            push_signed(out, i64::from(*v));
            Ok(())
        }
        V::Int64Type(v) => {
            push_signed(out, *v);
            Ok(())
        }
        V::UInt8Type(v) => {
            push_decimal(out, u64::from(*v));
            Ok(())
        }
        V::UInt16Type(v) => {
            push_decimal(out, u64::from(*v));
            Ok(())
        }
        V::UInt32Type(v) => {
            push_decimal(out, u64::from(*v));
            Ok(())
        }
        V::UInt64Type(v) => {
            push_decimal(out, *v);
            Ok(())
        }
        V::BoolType(v) => write!(out, "{v}"),
        V::HexInt32Type(v) => {
            push_hex(out, u64::from(*v));
            Ok(())
        }
        V::HexInt64Type(v) => {
            push_hex(out, *v);
            Ok(())
        }
        V::GuidType(g) => {
            push_guid(out, g);
            Ok(())
        }
        // The crate's own text for these (its Display differs from its XML only in how
        // strings are escaped).
        V::Real32Type(_)
        | V::Real64Type(_)
        | V::BinaryType(_)
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
pub(super) struct Unsupported(pub(super) &'static str);

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
