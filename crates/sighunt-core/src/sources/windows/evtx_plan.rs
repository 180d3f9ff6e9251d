//! A template definition compiled for the fields sighunt keeps: the element walk of
//! [`EventBuilder`] is done once per definition and chunk, and leaves a short list of
//! stores ("substitution 14 → Computer", "EventData `<Data Name=%9>%10</Data>` → a
//! pair"); a record then runs that list over its values. Elements whose text and
//! attributes go nowhere cost nothing per record, and values nobody reads are never
//! written out.
//!
//! The walk in evtx_template.rs is the reference: what the plan does not do the same
//! way (a nested instance where the walk would put it inside a kept element, a value
//! it cannot write) makes [`run`] return `None`, and the caller takes that walk.

use std::sync::Arc;

use evtx::binxml::value_variant::BinXmlValue;

use super::WinEvent;
use super::event_builder::{AttrField, EventBuilder, TextField, put_attr, put_text};
use super::evtx_template::{
    Child, Part, Template, Unsupported, Value, Walk, normalize_attribute, push_parts, push_utf16,
    push_value, resolve, string_array_items, unix_line_ends, writes_as_text,
};

/// A compiled definition: stores in document order.
#[derive(Debug)]
pub(super) struct Plan {
    ops: Vec<Op>,
    /// How many pairs it can add to `WinEvent::data` (reserved up front).
    pairs: usize,
}

/// An attribute's value: static text (as normalized, ready; shared, as an
/// EventData name is by every record), or parts to join.
#[derive(Debug)]
enum AttrValue {
    Fixed(Arc<str>),
    Parts(Box<[Part]>),
}

impl AttrValue {
    fn new(parts: &[Part]) -> AttrValue {
        let mut fixed = String::new();
        for part in parts {
            match part {
                Part::Text(s) => fixed.push_str(s),
                Part::Sub { .. } => return AttrValue::Parts(parts.into()),
            }
        }
        if parts.is_empty() {
            // Nothing in it: left out.
            return AttrValue::Parts(parts.into());
        }
        AttrValue::Fixed(normalize_attribute(fixed).into())
    }
}

#[derive(Debug)]
enum Op {
    /// An element with a DependencyId: the next `len` ops are its own and are
    /// skipped when substitution `index` is NULL.
    Depends { index: u16, len: usize },
    /// A wanted attribute (Provider Name, TimeCreated SystemTime …).
    Attr { field: AttrField, value: AttrValue },
    /// A kept element's text, stored where its element ends.
    Text {
        field: TextField,
        /// The element's name (UserData leaves).
        leaf: Option<Arc<str>>,
        /// Its `Name` attributes (EventData `<Data>`), the last present one wins.
        names: Vec<AttrValue>,
        parts: Vec<Part>,
        /// Whether the element has no child element (only such an element is
        /// repeated here for an array value).
        childless: bool,
    },
    /// A substitution in the content of an element whose text goes nowhere: its
    /// value is only checked, or, where `nested`, a BinXML value is an instance
    /// (EventData, UserData) whose elements open under the root.
    Content {
        index: u16,
        optional: bool,
        nested: bool,
    },
}

/// Compiles `t` as a record's own template (`under_root` false: its root must be
/// `<Event>`), or as an instance nested in a value of the root's content.
pub(super) fn compile(t: &Template, under_root: bool) -> Result<Plan, Unsupported> {
    let mut builder = EventBuilder::default();
    if under_root {
        builder.open(b"Event").map_err(|_| Unsupported("builder"))?;
    }
    let mut ops = Vec::new();
    element(t, 0, &mut builder, &mut ops, true)?;
    let pairs = ops
        .iter()
        .filter(|op| {
            matches!(
                op,
                Op::Text {
                    field: TextField::Data | TextField::Leaf,
                    ..
                }
            )
        })
        .count();
    Ok(Plan { ops, pairs })
}

fn element(
    t: &Template,
    at: usize,
    builder: &mut EventBuilder,
    ops: &mut Vec<Op>,
    root: bool,
) -> Result<(), Unsupported> {
    let el = t.elements.get(at).ok_or(Unsupported("element"))?;
    // The walk checks a child's DependencyId, never the root's.
    let depends = match el.dependency.filter(|_| !root) {
        Some(index) => {
            ops.push(Op::Depends { index, len: 0 });
            Some(ops.len() - 1)
        }
        None => None,
    };
    let wanted = builder
        .open(el.local.as_bytes())
        .map_err(|_| Unsupported("not an event"))?;
    let (attr_field, text_field) = builder.fields();
    let mut names = Vec::new();
    if !wanted.is_empty() {
        for attr in el.attrs.iter().filter(|a| a.local.as_bytes() == wanted) {
            if attr_field == AttrField::DataName {
                names.push(AttrValue::new(&attr.parts));
            } else {
                ops.push(Op::Attr {
                    field: attr_field,
                    value: AttrValue::new(&attr.parts),
                });
            }
        }
    }
    let kept = text_field != TextField::Dropped;
    let mut parts = Vec::new();
    for child in &el.children {
        match child {
            Child::Part(part) if kept => parts.push(part.clone()),
            Child::Part(Part::Text(_)) => {}
            Child::Part(Part::Sub { index, optional }) => {
                ops.push(Op::Content {
                    index: *index,
                    optional: *optional,
                    nested: builder.depth() == 1,
                });
            }
            Child::Element(child) => {
                element(t, *child, builder, ops, false)?;
            }
        }
    }
    if kept {
        ops.push(Op::Text {
            field: text_field,
            leaf: (text_field == TextField::Leaf).then(|| Arc::from(&*el.local)),
            names,
            parts,
            childless: !el.children.iter().any(|c| matches!(c, Child::Element(_))),
        });
    }
    builder.close().map_err(|_| Unsupported("builder"))?;
    if let Some(at) = depends {
        let len = ops.len() - at - 1;
        if let Op::Depends { len: l, .. } = &mut ops[at] {
            *l = len;
        }
    }
    Ok(())
}

/// Runs `plan` over `values` into `ev`; `None`: take the element walk instead.
pub(super) fn run<'c>(
    walk: &mut Walk<'_, 'c>,
    plan: &Plan,
    values: &[Value<'c>],
    ev: &mut WinEvent,
    nesting: usize,
) -> Option<()> {
    ev.data.reserve(plan.pairs);
    // Looked for in each kept element's parts only when the record has one.
    let has_arrays = values.iter().any(|v| matches!(v, Value::StringArray(_)));
    let mut i = 0;
    while let Some(op) = plan.ops.get(i) {
        walk.visit()?;
        match op {
            Op::Depends { index, len } => {
                if matches!(
                    values.get(usize::from(*index)),
                    Some(Value::Crate(BinXmlValue::NullType))
                ) {
                    i += len;
                }
            }
            Op::Attr { field, value } => {
                if let Some(value) = attribute(walk, value, values)? {
                    put_attr(ev, *field, value, &mut None);
                }
            }
            Op::Text {
                field,
                leaf,
                names,
                parts,
                childless,
            } => {
                // A string array repeats the element once per item (MS-EVEN6
                // 3.1.4.7.5), as the renderer does: here for one array in the text
                // of an element without child elements; anything else, the crate.
                let items = if has_arrays {
                    let mut arrays = parts.iter().filter_map(|part| match resolve(part, values) {
                        Some(Value::StringArray(bytes)) => Some(*bytes),
                        _ => None,
                    });
                    match (arrays.next(), arrays.next()) {
                        (None, _) => None,
                        (Some(bytes), None) if *childless => Some(string_array_items(bytes)?),
                        _ => return None,
                    }
                } else {
                    None
                };
                let mut data_name = None;
                for name in names {
                    if let Some(value) = shared_attribute(walk, name, values)? {
                        data_name = Some(value);
                    }
                }
                match items {
                    None => {
                        let text = element_text(walk, parts, values, None)?;
                        put_text(ev, *field, text, data_name, leaf.as_ref());
                    }
                    Some(items) => {
                        for item in items {
                            walk.visit()?;
                            let text = element_text(walk, parts, values, Some(item))?;
                            put_text(ev, *field, text, data_name.clone(), leaf.as_ref());
                        }
                    }
                }
            }
            Op::Content {
                index,
                optional,
                nested,
            } => {
                let part = Part::Sub {
                    index: *index,
                    optional: *optional,
                };
                match resolve(&part, values) {
                    None => {}
                    Some(Value::Crate(BinXmlValue::BinXmlType(bytes))) if *nested => {
                        walk.nested_plan(bytes, ev, nesting)?;
                    }
                    Some(v) if writes_as_text(v) => {}
                    Some(_) => return None,
                }
            }
        }
        i += 1;
    }
    Some(())
}

/// The text of an element's `parts`, as XML parsing reads it back; `item`: the
/// array item that stands for its array substitution.
fn element_text(
    walk: &mut Walk<'_, '_>,
    parts: &[Part],
    values: &[Value<'_>],
    item: Option<&[u8]>,
) -> Option<String> {
    let mut text = String::with_capacity(text_size(parts, values));
    for part in parts {
        match part {
            Part::Text(s) => text.push_str(s),
            Part::Sub { .. } => match resolve(part, values) {
                None => {}
                // An instance inside a kept element: the walk's case.
                Some(Value::Crate(BinXmlValue::BinXmlType(_))) => return None,
                Some(Value::StringArray(_)) => push_utf16(&mut text, item?),
                Some(v) => push_value(&mut text, v)?,
            },
        }
    }
    walk.wrote(text.len())?;
    // XML parsing reads every line end as `\n`.
    if text.contains('\r') {
        text = unix_line_ends(&text);
    }
    Some(text)
}

/// About how long the text of `parts` is (a UTF-16 value: half its bytes).
fn text_size(parts: &[Part], values: &[Value<'_>]) -> usize {
    parts
        .iter()
        .map(|part| match part {
            Part::Text(s) => s.len(),
            Part::Sub { index, .. } => match values.get(usize::from(*index)) {
                Some(Value::Crate(BinXmlValue::StringType(s))) => s.as_bytes().len() / 2,
                _ => 20,
            },
        })
        .sum()
}

/// [`attribute`] as a shared name: a fixed one without a copy.
fn shared_attribute(
    walk: &mut Walk<'_, '_>,
    value: &AttrValue,
    values: &[Value<'_>],
) -> Option<Option<Arc<str>>> {
    if let AttrValue::Fixed(text) = value {
        walk.visit()?;
        walk.wrote(text.len())?;
        return Some(Some(text.clone()));
    }
    Some(attribute(walk, value, values)?.map(Arc::from))
}

/// An attribute's value, normalized; `None` inside: it is left out (all its parts
/// write nothing).
fn attribute(
    walk: &mut Walk<'_, '_>,
    value: &AttrValue,
    values: &[Value<'_>],
) -> Option<Option<String>> {
    let parts = match value {
        AttrValue::Fixed(text) => {
            walk.visit()?;
            walk.wrote(text.len())?;
            return Some(Some(String::from(&**text)));
        }
        AttrValue::Parts(parts) => parts,
    };
    let mut text = String::new();
    let present = push_parts(&mut text, parts, values)?;
    walk.visit()?;
    walk.wrote(text.len())?;
    Some(present.then(|| normalize_attribute(text)))
}
