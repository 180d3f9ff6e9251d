//! A [`WinEvent`] built from the elements of one `<Event>`, whatever reads them: the
//! event-XML parser (xml.rs) and the EVTX template reader (evtx_template.rs) drive
//! the same builder, so both keep the same fields by the same rules.

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

struct Open {
    tag: Tag,
    /// The element's name, kept for UserData's leaves only.
    name: Option<String>,
    data_name: Option<String>,
    keep_text: bool,
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
        let ev = &mut self.ev;
        match open.tag {
            Tag::Provider => ev.provider = value,
            Tag::TimeCreated => ev.time = parse_time(&value),
            Tag::Execution => ev.exec_pid = parse_pid(&value),
            Tag::Security => ev.user_sid = Some(value),
            Tag::Data => open.data_name = Some(value),
            _ => {}
        }
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
        if !open.keep_text {
            return;
        }
        let ev = &mut self.ev;
        match (self.stack.last().map(|o| o.tag), open.tag) {
            (Some(Tag::System), Tag::EventId) => ev.event_id = open.text.trim().parse().ok(),
            (Some(Tag::System), Tag::EventRecordId) => {
                ev.record_id = open.text.trim().parse().ok();
            }
            (Some(Tag::System), Tag::Channel) => ev.channel = open.text.trim().to_string(),
            (Some(Tag::System), Tag::Computer) => ev.computer = open.text.trim().to_string(),
            (Some(Tag::EventData), Tag::Data) => match open.data_name {
                Some(name) => ev.data.push((name, open.text)),
                None => ev.unnamed.push(open.text),
            },
            (Some(Tag::RenderingInfo), Tag::Message) => ev.message = Some(open.text),
            _ => {
                // UserData's leaves (its wrapper element only holds them).
                if let Some(name) = open.name.filter(|_| !open.text.trim().is_empty()) {
                    ev.data.push((name, open.text));
                }
            }
        }
    }
}
