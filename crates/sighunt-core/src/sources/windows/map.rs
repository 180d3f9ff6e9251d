//! From Windows events to sighunt events: the one place that knows which Windows
//! fields mean what, for every transport.
//!
//! * Sysmon 1 and Security 4688 become [`ProcessStart`]s, Sysmon 3 a
//!   [`NetworkActivity`];
//! * PowerShell 4104 becomes a [`ScriptBlock`] once all its parts (MessageNumber of
//!   MessageTotal, same ScriptBlockId) are in; 4103 (module logging: the Payload of
//!   CommandInvocation/ParameterBinding lines, the host application in ContextInfo)
//!   and the classic log's 800 (pipeline execution details: the pipeline's text, the
//!   HostApplication) become [`ScriptBlock`]s directly.
//!
//! Fields missing from a flattened transport are looked up in the rendered message
//! when it was kept (OTRF's NXLog exports drop some Sysmon fields and keep 800 events
//! only as text).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::{WinEvent, parse_pid, present};
use crate::command::split_command_line;
use crate::event::{
    Event, NetworkActivity, NetworkKind, Platform, Position, ProcessStart, Provenance, ScriptBlock,
};
use crate::input::InputError;
use crate::sources::EventSink;

/// Most multi-part script blocks waiting for their other parts.
const MAX_PENDING_BLOCKS: usize = 1_024;
/// Most script text held for waiting blocks, all together.
const MAX_PENDING_BYTES: usize = 64 * 1024 * 1024;
/// Most text kept for one reassembled block; the rest is dropped (and reported).
const MAX_BLOCK_BYTES: usize = 16 * 1024 * 1024;
/// Most parts one block may announce (PowerShell splits at about 10 000 characters,
/// so this is far beyond any real script).
const MAX_PARTS: u32 = 20_000;

/// Whether Windows events with this id can matter (the rest are not rendered).
pub fn is_relevant_event_id(id: u32) -> bool {
    matches!(id, 1 | 3 | 4688 | 4103 | 4104 | 800)
}

/// Whether mapping `ev` depends on the events before it (a 4104 part waits for the
/// others of its block): such events are mapped in file order by one [`Mapper`],
/// the rest may be mapped by any.
pub fn needs_order(ev: &WinEvent) -> bool {
    kind(ev) == Some(Kind::ScriptBlock)
}

/// What a relevant event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    SysmonProcess,
    SysmonNetwork,
    SecurityProcess,
    ScriptBlock,
    ModuleLogging,
    PipelineDetails,
}

fn kind(ev: &WinEvent) -> Option<Kind> {
    // Compared without a lowercase copy of either name (two allocations per event),
    // and only what the event id asks for.
    let (provider, channel) = (ev.provider.as_str(), ev.channel.as_str());
    let unknown = provider.is_empty() && channel.is_empty();
    let sysmon =
        || contains_ignore_case(provider, "sysmon") || contains_ignore_case(channel, "sysmon");
    let security = || {
        provider.eq_ignore_ascii_case("microsoft-windows-security-auditing")
            || channel.eq_ignore_ascii_case("security")
    };
    let ps_operational = || {
        provider.eq_ignore_ascii_case("microsoft-windows-powershell")
            || provider.eq_ignore_ascii_case("powershellcore")
            || contains_ignore_case(channel, "powershell/operational")
            || contains_ignore_case(channel, "powershellcore")
    };
    let classic_ps = || {
        provider.eq_ignore_ascii_case("powershell")
            || channel.eq_ignore_ascii_case("windows powershell")
    };
    match ev.event_id? {
        1 if sysmon()
            || (unknown && ev.value("Image").is_some() && ev.get("CommandLine").is_some()) =>
        {
            Some(Kind::SysmonProcess)
        }
        3 if sysmon() || (unknown && ev.value("DestinationIp").is_some()) => {
            Some(Kind::SysmonNetwork)
        }
        4688 if security() || (unknown && ev.value("NewProcessName").is_some()) => {
            Some(Kind::SecurityProcess)
        }
        4104 if ps_operational() || unknown => Some(Kind::ScriptBlock),
        4103 if ps_operational() || unknown => Some(Kind::ModuleLogging),
        800 if classic_ps() || unknown => Some(Kind::PipelineDetails),
        _ => None,
    }
}

/// Whether `haystack` contains `needle` (lowercase ASCII), ASCII case ignored.
fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Turns [`WinEvent`]s into sighunt events; holds multi-part 4104 blocks until
/// their last part arrives.
pub struct Mapper {
    path: Arc<str>,
    format: &'static str,
    pub(super) pending: HashMap<BlockKey, Pending>,
    order: VecDeque<BlockKey>,
    pending_bytes: usize,
}

/// Host and ScriptBlockId.
pub(super) type BlockKey = (String, String);

pub(super) struct Pending {
    block: ScriptBlock,
    total: u32,
    parts: HashMap<u32, String>,
    bytes: usize,
    truncated: bool,
}

impl Mapper {
    pub fn new(path: Arc<str>, format: &'static str) -> Self {
        Mapper {
            path,
            format,
            pending: HashMap::new(),
            order: VecDeque::new(),
            pending_bytes: 0,
        }
    }

    fn provenance(&self, position: Position) -> Provenance {
        Provenance {
            path: self.path.clone(),
            position,
            format: self.format,
        }
    }

    /// Maps one event read at `position`; irrelevant events are ignored.
    pub fn map(&mut self, ev: WinEvent, position: Position, sink: &mut dyn EventSink) {
        let Some(kind) = kind(&ev) else { return };
        let provenance = self.provenance(position);
        match kind {
            Kind::SysmonProcess => sink.event(Event::Process(sysmon_process(&ev, provenance))),
            Kind::SecurityProcess => {
                sink.event(Event::Process(security_process(&ev, provenance)));
            }
            Kind::SysmonNetwork => sink.event(Event::Network(sysmon_network(&ev, provenance))),
            Kind::ScriptBlock => self.script_block(&ev, provenance, sink),
            Kind::ModuleLogging => {
                if let Some(block) = module_logging(&ev, provenance) {
                    sink.event(Event::Script(block));
                }
            }
            Kind::PipelineDetails => {
                if let Some(block) = pipeline_details(&ev, provenance) {
                    sink.event(Event::Script(block));
                }
            }
        }
    }

    /// End of input: blocks still missing parts are analysed with what arrived.
    pub fn finish(&mut self, sink: &mut dyn EventSink) {
        while let Some(key) = self.order.pop_front() {
            self.flush(&key, "the input ended", sink);
        }
    }

    fn script_block(&mut self, ev: &WinEvent, provenance: Provenance, sink: &mut dyn EventSink) {
        let from_message = ev.message.as_deref().and_then(parse_4104_message);
        let text = ev
            .get("ScriptBlockText")
            .map(str::to_string)
            .or_else(|| from_message.as_ref().map(|m| m.text.clone()));
        let Some(text) = text else { return };
        let id = ev
            .value("ScriptBlockId")
            .map(str::to_string)
            .or_else(|| from_message.as_ref().and_then(|m| m.id.clone()))
            .unwrap_or_default();
        let number = ev
            .value("MessageNumber")
            .and_then(|n| n.parse().ok())
            .or(from_message.as_ref().map(|m| m.number))
            .unwrap_or(1u32);
        let total = ev
            .value("MessageTotal")
            .and_then(|n| n.parse().ok())
            .or(from_message.as_ref().map(|m| m.total))
            .unwrap_or(1u32);
        let path = ev
            .value("Path")
            .map(str::to_string)
            .or_else(|| from_message.as_ref().and_then(|m| m.path.clone()));
        let block = ScriptBlock {
            time: ev.time,
            host: ev.computer.clone(),
            pid: ev.exec_pid,
            user: script_user(ev),
            script_block_id: id.clone(),
            path,
            host_application: None,
            text: String::new(),
            event_id: 4104,
            provenance,
        };
        if total <= 1 || id.is_empty() {
            sink.event(Event::Script(ScriptBlock { text, ..block }));
            return;
        }
        if number == 0 || number > total {
            sink.error(self.error(
                &block.provenance,
                format!("script block {id}: part {number} of {total} is out of range; skipped"),
            ));
            return;
        }
        let key = (ev.computer.clone(), id.clone());
        if !self.pending.contains_key(&key) {
            self.make_room(text.len(), sink);
            self.order.push_back(key.clone());
            self.pending.insert(
                key.clone(),
                Pending {
                    block,
                    total: total.min(MAX_PARTS),
                    parts: HashMap::new(),
                    bytes: 0,
                    truncated: total > MAX_PARTS,
                },
            );
        }
        let Some(p) = self.pending.get_mut(&key) else {
            return;
        };
        if number <= p.total && !p.parts.contains_key(&number) {
            if p.bytes + text.len() > MAX_BLOCK_BYTES {
                p.truncated = true;
            } else {
                p.bytes += text.len();
                self.pending_bytes += text.len();
                p.parts.insert(number, text);
            }
        }
        let done = p.parts.len() as u32 == p.total;
        if done {
            self.order.retain(|k| k != &key);
            self.flush(&key, "", sink);
        }
    }

    /// Evicts the oldest waiting blocks until one more (of `incoming` bytes) fits.
    fn make_room(&mut self, incoming: usize, sink: &mut dyn EventSink) {
        while !self.order.is_empty()
            && (self.pending.len() >= MAX_PENDING_BLOCKS
                || self.pending_bytes + incoming > MAX_PENDING_BYTES)
        {
            if let Some(key) = self.order.pop_front() {
                self.flush(&key, "too many script blocks were waiting for parts", sink);
            }
        }
    }

    /// Emits a waiting block; `why` is empty for a complete block, else the reason it
    /// is emitted incomplete (reported as an input error).
    fn flush(&mut self, key: &BlockKey, why: &str, sink: &mut dyn EventSink) {
        let Some(p) = self.pending.remove(key) else {
            return;
        };
        self.pending_bytes = self.pending_bytes.saturating_sub(p.bytes);
        let mut text = String::with_capacity(p.bytes);
        let mut missing = Vec::new();
        for n in 1..=p.total {
            match p.parts.get(&n) {
                Some(part) => text.push_str(part),
                None => {
                    missing.push(n);
                    // Keep the parts that surround a gap apart.
                    text.push('\n');
                }
            }
        }
        if !missing.is_empty() || p.truncated {
            let what = if missing.is_empty() {
                "longer than the size limit".to_string()
            } else {
                format!(
                    "{} of {} parts missing ({})",
                    missing.len(),
                    p.total,
                    if why.is_empty() { "never logged" } else { why }
                )
            };
            sink.error(self.error(
                &p.block.provenance,
                format!(
                    "script block {}: {what}; analysed with the parts present",
                    p.block.script_block_id
                ),
            ));
        }
        if p.parts.is_empty() {
            return;
        }
        sink.event(Event::Script(ScriptBlock { text, ..p.block }));
    }

    fn error(&self, provenance: &Provenance, message: String) -> InputError {
        let location = match provenance.position {
            Position::Line(n) => Some(format!("line {n}")),
            Position::Record(n) => Some(format!("record {n}")),
            Position::None => None,
        };
        InputError::new(&self.path, location, message)
    }
}

/// A Sysmon field, from EventData or, when the transport dropped it, from the
/// rendered message's `Name: value` lines.
fn sysmon_field(ev: &WinEvent, name: &str) -> Option<String> {
    if let Some(v) = ev.get(name) {
        return present(v).map(str::to_string);
    }
    let message = ev.message.as_deref()?;
    message.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == name)
            .then(|| v.trim())
            .and_then(present)
            .map(str::to_string)
    })
}

fn sysmon_process(ev: &WinEvent, provenance: Provenance) -> ProcessStart {
    let f = |name: &str| sysmon_field(ev, name);
    let mut p = ProcessStart::new(Platform::Windows, provenance);
    p.time = ev.time;
    p.host = ev.computer.clone();
    p.pid = f("ProcessId").and_then(|s| parse_pid(&s));
    p.ppid = f("ParentProcessId").and_then(|s| parse_pid(&s));
    p.user = f("User");
    p.exe = f("Image");
    p.command_line = ev
        .get("CommandLine")
        .map(str::to_string)
        .or_else(|| f("CommandLine"))
        .unwrap_or_default()
        .trim_end()
        .to_string();
    if p.command_line.is_empty() {
        p.command_line = p.exe.clone().unwrap_or_default();
    }
    p.argv = split_command_line(&p.command_line);
    p.cwd = f("CurrentDirectory");
    p.parent_exe = f("ParentImage");
    p.parent_command_line = f("ParentCommandLine");
    p.original_file_name = f("OriginalFileName");
    p.process_guid = f("ProcessGuid");
    p.parent_process_guid = f("ParentProcessGuid");
    p
}

fn security_process(ev: &WinEvent, provenance: Provenance) -> ProcessStart {
    let mut p = ProcessStart::new(Platform::Windows, provenance);
    p.time = ev.time;
    p.host = ev.computer.clone();
    p.pid = ev.value("NewProcessId").and_then(parse_pid);
    p.ppid = ev.value("ProcessId").and_then(parse_pid);
    p.exe = ev.value("NewProcessName").map(str::to_string);
    // Empty unless "Include command line in process creation events" is enabled.
    p.command_line = ev
        .value("CommandLine")
        .map(str::to_string)
        .or_else(|| p.exe.clone())
        .unwrap_or_default();
    p.argv = split_command_line(&p.command_line);
    p.parent_exe = ev.value("ParentProcessName").map(str::to_string);
    // The Target* account is the new process's when it differs from the creator's.
    p.user = account(ev.value("TargetDomainName"), ev.value("TargetUserName"))
        .or_else(|| account(ev.value("SubjectDomainName"), ev.value("SubjectUserName")));
    p
}

fn account(domain: Option<&str>, name: Option<&str>) -> Option<String> {
    let name = name?;
    Some(match domain {
        Some(d) => format!("{d}\\{name}"),
        None => name.to_string(),
    })
}

fn sysmon_network(ev: &WinEvent, provenance: Provenance) -> NetworkActivity {
    let f = |name: &str| sysmon_field(ev, name);
    let endpoint = |ip: Option<String>, port: Option<String>| -> Option<String> {
        let ip = ip?;
        Some(match port {
            Some(port) if ip.contains(':') => format!("[{ip}]:{port}"),
            Some(port) => format!("{ip}:{port}"),
            None => ip,
        })
    };
    let source = endpoint(f("SourceIp"), f("SourcePort"));
    let destination = endpoint(f("DestinationIp"), f("DestinationPort"));
    // Sysmon's source is the side that initiated the connection.
    let initiated = !f("Initiated").is_some_and(|v| v.eq_ignore_ascii_case("false"));
    let (local, remote) = if initiated {
        (source, destination)
    } else {
        (destination, source)
    };
    NetworkActivity {
        time: ev.time,
        host: ev.computer.clone(),
        pid: f("ProcessId").and_then(|s| parse_pid(&s)),
        process_guid: f("ProcessGuid"),
        image: f("Image"),
        kind: if initiated {
            NetworkKind::Connect
        } else {
            NetworkKind::Listen
        },
        local,
        remote,
        provenance,
    }
}

/// The user of a PowerShell log event: NXLog's account fields, else the SID.
fn script_user(ev: &WinEvent) -> Option<String> {
    account(ev.value("Domain"), ev.value("AccountName"))
        .or_else(|| ev.value("User").map(str::to_string))
        .or_else(|| ev.user_sid.clone())
}

/// 4104's rendered message: `Creating Scriptblock text (N of M):` text,
/// `ScriptBlock ID: …`, `Path: …`.
struct Message4104 {
    number: u32,
    total: u32,
    text: String,
    id: Option<String>,
    path: Option<String>,
}

fn parse_4104_message(msg: &str) -> Option<Message4104> {
    let rest = msg
        .trim_start()
        .strip_prefix("Creating Scriptblock text (")?;
    let (counts, rest) = rest.split_once("):")?;
    let (n, m) = counts.split_once(" of ")?;
    let rest = rest
        .strip_prefix("\r\n")
        .or_else(|| rest.strip_prefix('\n'))
        .unwrap_or(rest);
    let (text, tail) = match rest.rfind("ScriptBlock ID:") {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let mut id = None;
    let mut path = None;
    for line in tail.lines() {
        if let Some(v) = line.strip_prefix("ScriptBlock ID:") {
            id = present(v).map(str::to_string);
        } else if let Some(v) = line.strip_prefix("Path:") {
            path = present(v).map(str::to_string);
        }
    }
    Some(Message4104 {
        number: n.trim().parse().ok()?,
        total: m.trim().parse().ok()?,
        text: text.trim_end_matches(['\r', '\n']).to_string(),
        id,
        path,
    })
}

/// The values of `keys` in `Key = Value` lines (4103's ContextInfo, 800's
/// tab-indented details), in one pass: for each key, the first line naming it
/// (case-insensitive, blanks around the key and value ignored) whose value is
/// present.
fn context_values<'a, const N: usize>(context: &'a str, keys: [&str; N]) -> [Option<&'a str>; N] {
    let mut found = [None; N];
    let mut missing = N;
    for line in context.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let k = k.trim();
        for (slot, key) in found.iter_mut().zip(keys) {
            if slot.is_none() && k.eq_ignore_ascii_case(key) {
                *slot = present(v.trim());
                missing -= usize::from(slot.is_some());
            }
        }
        if missing == 0 {
            break;
        }
    }
    found
}

fn module_logging(ev: &WinEvent, provenance: Provenance) -> Option<ScriptBlock> {
    // Winlogbeat's message: payload, then "Context:" and the context lines.
    let (msg_payload, msg_context) = match ev.message.as_deref() {
        Some(m) => match m.find("\nContext:") {
            Some(i) => (Some(m[..i].trim_end()), Some(&m[i..])),
            None => (Some(m), None),
        },
        None => (None, None),
    };
    let payload = ev.get("Payload").or(msg_payload)?;
    present(payload)?;
    let context = ev.get("ContextInfo").or(msg_context).unwrap_or("");
    let [user, script_name, host_application] =
        context_values(context, ["User", "Script Name", "Host Application"]);
    Some(ScriptBlock {
        time: ev.time,
        host: ev.computer.clone(),
        pid: ev.exec_pid,
        user: user.map(str::to_string).or_else(|| script_user(ev)),
        script_block_id: String::new(),
        path: script_name.map(str::to_string),
        host_application: host_application
            .or_else(|| ev.value("HostApplication"))
            .map(str::to_string),
        text: payload.to_string(),
        event_id: 4103,
        provenance,
    })
}

fn pipeline_details(ev: &WinEvent, provenance: Provenance) -> Option<ScriptBlock> {
    // EVTX/XML: three unnamed Data (command text, context, details); Winlogbeat raw
    // names them param1..3; its module keeps the text as CommandText; NXLog keeps only
    // the message ("Pipeline execution details for command line: …").
    let (msg_text, msg_context) = match ev.message.as_deref() {
        Some(m) => split_800_message(m),
        None => (None, None),
    };
    let context = ev
        .unnamed
        .get(1)
        .map(String::as_str)
        .or_else(|| ev.get("param2"))
        .or(msg_context)
        .unwrap_or("");
    let [command_line, user_id, script_name, host_application] = context_values(
        context,
        ["CommandLine", "UserId", "ScriptName", "HostApplication"],
    );
    let text = ev
        .unnamed
        .first()
        .map(String::as_str)
        .or_else(|| ev.get("param1"))
        .or_else(|| ev.get("CommandText"))
        .or(msg_text)
        .and_then(present)
        .or(command_line)?;
    Some(ScriptBlock {
        time: ev.time,
        host: ev.computer.clone(),
        pid: ev.exec_pid,
        user: user_id.map(str::to_string).or_else(|| script_user(ev)),
        script_block_id: String::new(),
        path: script_name
            .or_else(|| ev.value("ScriptName"))
            .map(str::to_string),
        host_application: host_application
            .or_else(|| ev.value("HostApplication"))
            .map(str::to_string),
        text: text.trim_end().to_string(),
        event_id: 800,
        provenance,
    })
}

/// The pipeline text and the context section of an 800 message.
fn split_800_message(m: &str) -> (Option<&str>, Option<&str>) {
    let Some(rest) = m
        .trim_start()
        .strip_prefix("Pipeline execution details for command line:")
    else {
        return (None, None);
    };
    let (text, context) = match rest.find("Context Information:") {
        Some(i) => (&rest[..i], Some(&rest[i + "Context Information:".len()..])),
        None => (rest, None),
    };
    let context = context.map(|c| match c.find("Details:") {
        Some(i) => &c[..i],
        None => c,
    });
    // The message template puts a full stop after the text.
    let text = text.trim();
    (
        Some(text.strip_suffix('.').unwrap_or(text).trim_end()),
        context,
    )
}
