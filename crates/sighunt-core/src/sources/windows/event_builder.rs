//! A [`WinEvent`] built from the elements of one `<Event>`, whatever reads them: the
//! event-XML parser (xml.rs) and the EVTX template reader (evtx_template.rs) drive
//! the same builder, so both keep the same fields by the same rules.

use std::sync::Arc;

use super::{WinEvent, parse_pid, parse_time};

/// The elements whose text or attributes matter; the rest are walked over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Event,
    System,
    EventData,
    UserData,
    RenderingInfo,
    Provider,
    EventId,
    TimeCreated,
    EventRecordId,
    Execution,
    Channel,
    Computer,
    Security,
    Data,
    Message,
    Other,
}

fn tag(name: &[u8]) -> Tag {
    match name {
        b"Event" => Tag::Event,
        b"System" => Tag::System,
        b"EventData" => Tag::EventData,
        b"UserData" => Tag::UserData,
        b"RenderingInfo" => Tag::RenderingInfo,
        b"Provider" => Tag::Provider,
        b"EventID" => Tag::EventId,
        b"TimeCreated" => Tag::TimeCreated,
        b"EventRecordID" => Tag::EventRecordId,
        b"Execution" => Tag::Execution,
        b"Channel" => Tag::Channel,
        b"Computer" => Tag::Computer,
        b"Security" => Tag::Security,
        b"Data" => Tag::Data,
        b"Message" => Tag::Message,
        _ => Tag::Other,
    }
}

/// Where the value of an element's one wanted attribute goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AttrField {
    Provider,
    Time,
    ExecPid,
    UserSid,
    /// The `Name` of an EventData `<Data>`: kept with the element until it ends.
    DataName,
    Dropped,
}

/// Where the text of an element goes when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TextField {
    EventId,
    RecordId,
    Channel,
    Computer,
    /// An EventData `<Data>`: a named pair, or an unnamed value.
    Data,
    Message,
    /// A leaf under UserData, named after its element (kept unless blank).
    Leaf,
    Dropped,
}

fn attr_field(tag: Tag) -> AttrField {
    match tag {
        Tag::Provider => AttrField::Provider,
        Tag::TimeCreated => AttrField::Time,
        Tag::Execution => AttrField::ExecPid,
        Tag::Security => AttrField::UserSid,
        Tag::Data => AttrField::DataName,
        _ => AttrField::Dropped,
    }
}

fn text_field(parent: Option<Tag>, tag: Tag, keep_text: bool, in_user_data: bool) -> TextField {
    if !keep_text {
        return TextField::Dropped;
    }
    match (parent, tag) {
        (Some(Tag::System), Tag::EventId) => TextField::EventId,
        (Some(Tag::System), Tag::EventRecordId) => TextField::RecordId,
        (Some(Tag::System), Tag::Channel) => TextField::Channel,
        (Some(Tag::System), Tag::Computer) => TextField::Computer,
        (Some(Tag::EventData), Tag::Data) => TextField::Data,
        (Some(Tag::RenderingInfo), Tag::Message) => TextField::Message,
        // UserData's leaves (its wrapper element only holds them).
        _ if in_user_data => TextField::Leaf,
        _ => TextField::Dropped,
    }
}

/// Stores an attribute's value (normalized as XML normalizes attribute values) in
/// `ev`; `DataName` goes to `data_name`.
pub(super) fn put_attr(
    ev: &mut WinEvent,
    field: AttrField,
    value: String,
    data_name: &mut Option<String>,
) {
    match field {
        AttrField::Provider => ev.provider = value,
        AttrField::Time => ev.time = parse_time(&value),
        AttrField::ExecPid => ev.exec_pid = parse_pid(&value),
        AttrField::UserSid => ev.user_sid = Some(value),
        AttrField::DataName => *data_name = Some(value),
        AttrField::Dropped => {}
    }
}

/// Stores the whole text of an element that ended in `ev`; `data_name` is its
/// `<Data Name=…>`, `leaf` its own name (UserData leaves).
pub(super) fn put_text(
    ev: &mut WinEvent,
    field: TextField,
    text: String,
    data_name: Option<Arc<str>>,
    leaf: Option<&Arc<str>>,
) {
    match field {
        TextField::EventId => ev.event_id = text.trim().parse().ok(),
        TextField::RecordId => ev.record_id = text.trim().parse().ok(),
        TextField::Channel => ev.channel = text.trim().to_string(),
        TextField::Computer => ev.computer = text.trim().to_string(),
        TextField::Data => match data_name {
            Some(name) => ev.data.push((name, text)),
            None => ev.unnamed.push(text),
        },
        TextField::Message => ev.message = Some(text),
        TextField::Leaf => {
            if let Some(name) = leaf.filter(|_| !text.trim().is_empty()) {
                ev.data.push((name.clone(), text));
            }
        }
        TextField::Dropped => {}
    }
}

struct Open {
    tag: Tag,
    /// The element's name, kept for UserData's leaves only.
    name: Option<String>,
    data_name: Option<String>,
    keep_text: bool,
    text_field: TextField,
    text: String,
}

/// Open elements (root first) and the event their fields go to.
#[derive(Default)]
pub(super) struct EventBuilder {
    ev: WinEvent,
    stack: Vec<Open>,
}

impl EventBuilder {
    /// An element starts (by its local name, without a namespace prefix). Returns the
    /// local name of the one attribute of it that matters (empty: none); its value,
    /// if present, goes to [`EventBuilder::attribute`] before any text.
    pub(super) fn open(&mut self, local: &[u8]) -> Result<&'static [u8], String> {
        let t = tag(local);
        let stack = &mut self.stack;
        if stack.is_empty() && t != Tag::Event {
            return Err(format!(
                "expected <Event>, found <{}>",
                String::from_utf8_lossy(local)
            ));
        }
        let parent = stack.last().map(|o| o.tag);
        let in_user_data = stack.get(1).is_some_and(|o| o.tag == Tag::UserData) && stack.len() >= 2;
        let keep_text = in_user_data
            || matches!(
                (parent, t),
                (
                    Some(Tag::System),
                    Tag::EventId | Tag::EventRecordId | Tag::Channel | Tag::Computer
                ) | (Some(Tag::EventData), Tag::Data)
                    | (Some(Tag::RenderingInfo), Tag::Message)
            );
        stack.push(Open {
            tag: t,
            name: in_user_data.then(|| String::from_utf8_lossy(local).into_owned()),
            data_name: None,
            keep_text,
            text_field: text_field(parent, t, keep_text, in_user_data),
            text: String::new(),
        });
        Ok(match (parent, t) {
            (Some(Tag::System), Tag::Provider) => b"Name",
            (Some(Tag::System), Tag::TimeCreated) => b"SystemTime",
            (Some(Tag::System), Tag::Execution) => b"ProcessID",
            (Some(Tag::System), Tag::Security) => b"UserID",
            (Some(Tag::EventData), Tag::Data) => b"Name",
            _ => b"",
        })
    }

    /// The value (normalized as XML normalizes attribute values) of the attribute
    /// that [`EventBuilder::open`] asked for, on the element it opened last.
    pub(super) fn attribute(&mut self, value: String) {
        let Some(open) = self.stack.last_mut() else {
            return;
        };
        put_attr(
            &mut self.ev,
            attr_field(open.tag),
            value,
            &mut open.data_name,
        );
    }

    /// Where the innermost open element's wanted attribute and its text go (what a
    /// compiled template stores without walking the elements).
    pub(super) fn fields(&self) -> (AttrField, TextField) {
        self.stack
            .last()
            .map_or((AttrField::Dropped, TextField::Dropped), |o| {
                (attr_field(o.tag), o.text_field)
            })
    }

    /// How many elements are open.
    pub(super) fn depth(&self) -> usize {
        self.stack.len()
    }

    /// Whether the innermost open element keeps its text.
    pub(super) fn keeps_text(&self) -> bool {
        self.stack.last().is_some_and(|o| o.keep_text)
    }

    /// Text of the innermost open element (kept only where it matters).
    pub(super) fn text(&mut self, text: &str) {
        if let Some(top) = self.stack.last_mut().filter(|o| o.keep_text) {
            top.text.push_str(text);
        }
    }

    /// The innermost open element's text so far, to be written in place.
    pub(super) fn text_mut(&mut self) -> Option<&mut String> {
        self.stack
            .last_mut()
            .filter(|o| o.keep_text)
            .map(|o| &mut o.text)
    }

    /// The innermost open element ends; `true` when it was the root.
    pub(super) fn close(&mut self) -> Result<bool, String> {
        let Some(open) = self.stack.pop() else {
            return Err("unbalanced end tag".to_string());
        };
        self.keep(open);
        Ok(self.stack.is_empty())
    }

    /// The event built so far.
    pub(super) fn finish(self) -> WinEvent {
        self.ev
    }

    /// An element ended: keep its text where it belongs.
    fn keep(&mut self, open: Open) {
        put_text(
            &mut self.ev,
            open.text_field,
            open.text,
            open.data_name.map(Arc::from),
            open.name.map(Arc::from).as_ref(),
        );
    }
}
