//! One MDE row (whatever shape carried it) into sighunt events.
//!
//! * `DeviceProcessEvents` → [`ProcessStart`]: `FolderPath`/`FileName` the image,
//!   `ProcessCommandLine`, `ProcessId`, the account, `InitiatingProcess*` the parent,
//!   the working directory from `AdditionalFields` where MDE for Linux/macOS has it;
//! * `DeviceNetworkEvents` → [`NetworkActivity`]: `ListeningConnectionCreated` and
//!   `InboundConnectionAccepted` a listener, `Connection{Success,Failed,Attempt,
//!   Request,Acknowledged}` a connection; inspections and snapshots are skipped;
//! * `DeviceFileEvents` → [`FileWrite`]: `FileCreated`, `FileModified`,
//!   `FileRenamed`.
//!
//! The table is named by the Streaming API's `category`, Sentinel's `Type` (also the
//! `AdvancedHunting…_CL` custom tables, whose columns carry a `_s`/`_d` type
//! suffix), or a `Table` column; a hunting export of a query names none, and the
//! row's `ActionType` tells. A process is `DeviceId` + `ProcessId` +
//! `ProcessCreationTime` (pids are reused): that is its `process_guid`, and the same
//! key built from `InitiatingProcessId` + `InitiatingProcessCreationTime` ties
//! network and file rows, and children, to it.

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use super::FORMAT_MDE;
use crate::command::{join_argv, split_command_line};
use crate::event::{
    Event, FileWrite, FileWriteKind, NetworkActivity, NetworkKind, Platform, Position,
    ProcessOrigin, ProcessStart, Provenance,
};
use crate::sources::syslog::split_logged_argv;

/// The tables this source reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Process,
    Network,
    File,
}

impl Table {
    /// The table an MDE table name (`DeviceProcessEvents`,
    /// `AdvancedHunting-DeviceProcessEvents`, `AdvancedHuntingDeviceProcessEvents_CL`)
    /// stands for; `None` for another MDE or Sentinel table.
    pub fn from_name(name: &str) -> Option<Table> {
        let name = name.trim();
        let name = name.strip_prefix("AdvancedHunting-").unwrap_or(name);
        let name = name.strip_prefix("AdvancedHunting").unwrap_or(name);
        let name = name.strip_suffix("_CL").unwrap_or(name);
        match name {
            "DeviceProcessEvents" => Some(Table::Process),
            "DeviceNetworkEvents" => Some(Table::Network),
            "DeviceFileEvents" => Some(Table::File),
            _ => None,
        }
    }

    /// The table an `ActionType` belongs to, for rows that do not name theirs.
    fn from_action(action: &str) -> Option<Table> {
        match action {
            "ProcessCreated" => Some(Table::Process),
            "FileCreated" | "FileModified" | "FileRenamed" | "FileDeleted" => Some(Table::File),
            a if a.starts_with("Connection")
                || a == "ListeningConnectionCreated"
                || a == "InboundConnectionAccepted" =>
            {
                Some(Table::Network)
            }
            _ => None,
        }
    }
}

/// Column suffixes of Log Analytics custom tables (`ProcessId_d`, `FileName_s` …).
const TYPE_SUFFIXES: [&str; 5] = ["_s", "_d", "_g", "_t", "_b"];

/// One row's columns.
struct Row<'a> {
    cols: &'a Map<String, Value>,
}

impl Row<'_> {
    fn value(&self, name: &str) -> Option<&Value> {
        if let Some(v) = self.cols.get(name) {
            return Some(v);
        }
        TYPE_SUFFIXES
            .iter()
            .find_map(|s| self.cols.get(&format!("{name}{s}")))
    }

    /// A column as text; absent, null and empty are `None`.
    fn text(&self, name: &str) -> Option<String> {
        let s = match self.value(name)? {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return None,
        };
        (!s.is_empty()).then_some(s)
    }

    /// A process id: a JSON number, or text (CSV, `_d` doubles such as `4123.0`).
    fn pid(&self, name: &str) -> Option<u32> {
        let n = match self.value(name)? {
            Value::Number(n) => n.as_f64()?,
            Value::String(s) => s.trim().parse::<f64>().ok()?,
            _ => return None,
        };
        (n.fract() == 0.0 && n > 0.0 && n <= f64::from(u32::MAX)).then_some(n as u32)
    }
}

/// Turns rows into events, remembering the column names of array rows.
pub struct Mapper {
    path: Arc<str>,
    columns: Vec<String>,
}

impl Mapper {
    pub fn new(path: Arc<str>) -> Self {
        Mapper {
            path,
            columns: Vec::new(),
        }
    }

    /// A column list (`Schema`, `columns`): `[{"Name": …}]` or `[{"name": …}]`.
    pub fn set_columns(&mut self, list: &Value) {
        if let Value::Array(items) = list {
            self.columns = items
                .iter()
                .map(|c| {
                    c.get("name")
                        .or_else(|| c.get("Name"))
                        .or_else(|| c.get("ColumnName"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                })
                .collect();
        }
    }

    /// Maps one row (an object, or an array named by the last column list): `Ok` with
    /// its event (`None` for rows of other tables and actions), or `Err` with why the
    /// row cannot be read.
    pub fn map(&self, row: Value, line: u64) -> Result<Option<Event>, String> {
        let object = match row {
            Value::Object(m) => m,
            Value::Array(values) => {
                if self.columns.len() != values.len() {
                    return Err(format!(
                        "row of {} values where the column list has {}; skipped",
                        values.len(),
                        self.columns.len()
                    ));
                }
                self.columns.iter().cloned().zip(values).collect()
            }
            _ => return Err("row is not a JSON object; skipped".into()),
        };
        map_object(&object, &self.path, line)
    }
}

/// Maps a row given as column name → value.
pub fn map_object(
    object: &Map<String, Value>,
    path: &Arc<str>,
    line: u64,
) -> Result<Option<Event>, String> {
    // The Streaming API's envelope: the columns are under `properties`.
    let (cols, envelope_time, category) = match object.get("properties") {
        Some(Value::Object(p)) => (
            p,
            object.get("time").and_then(Value::as_str),
            object.get("category").and_then(Value::as_str),
        ),
        Some(_) => return Err("`properties` is not an object; record skipped".into()),
        None if object.contains_key("category") && object.contains_key("operationName") => {
            return Err("Streaming API record without `properties`; skipped".into());
        }
        None => (object, None, None),
    };
    let row = Row { cols };
    let named = category
        .map(str::to_string)
        .or_else(|| row.text("Type"))
        .or_else(|| row.text("Table"));
    let action = row.text("ActionType").unwrap_or_default();
    let table = match named {
        Some(name) => match Table::from_name(&name) {
            Some(t) => t,
            None => return Ok(None),
        },
        None => match Table::from_action(&action) {
            Some(t) => t,
            None if action.is_empty() => {
                return Err(
                    "not a Defender for Endpoint row (no table name and no ActionType); skipped"
                        .into(),
                );
            }
            None => return Ok(None),
        },
    };
    let time = match ["Timestamp", "TimeGenerated"]
        .iter()
        .find_map(|c| row.text(c))
        .or_else(|| envelope_time.map(str::to_string))
    {
        Some(t) => {
            Some(parse_time(&t).ok_or_else(|| format!("unreadable Timestamp {t:?}; row skipped"))?)
        }
        None => None,
    };
    let host = row
        .text("DeviceName")
        .or_else(|| row.text("DeviceId"))
        .unwrap_or_default();
    let device = row
        .text("DeviceId")
        .unwrap_or_else(|| host.to_ascii_lowercase());
    let provenance = Provenance {
        path: path.clone(),
        position: Position::Line(line),
        format: FORMAT_MDE,
    };
    let initiating = identity(
        &device,
        row.pid("InitiatingProcessId"),
        row.text("InitiatingProcessCreationTime").as_deref(),
    );
    let initiating_image = image(
        row.text("InitiatingProcessFolderPath"),
        row.text("InitiatingProcessFileName"),
    );
    Ok(match table {
        Table::Process => {
            if !action.is_empty() && !action.starts_with("ProcessCreated") {
                return Ok(None);
            }
            let exe = image(row.text("FolderPath"), row.text("FileName"));
            let command_line = row.text("ProcessCommandLine");
            if exe.is_none() && command_line.is_none() {
                return Err(
                    "DeviceProcessEvents row without FileName, FolderPath or ProcessCommandLine; skipped"
                        .into(),
                );
            }
            let platform = platform_of(
                exe.as_deref(),
                initiating_image.as_deref(),
                command_line.as_deref(),
            );
            let mut p = ProcessStart::new(platform, provenance);
            p.time = time;
            p.host = host;
            p.pid = row.pid("ProcessId");
            p.ppid = row.pid("InitiatingProcessId");
            p.user = account(&row, platform);
            let command_line = command_line.or_else(|| exe.clone()).unwrap_or_default();
            match platform {
                Platform::Unix => {
                    // MDE for Linux and macOS writes argv joined by spaces.
                    p.argv = split_logged_argv(&command_line);
                    p.command_line = join_argv(&p.argv);
                }
                Platform::Windows => {
                    p.argv = split_command_line(&command_line);
                    p.command_line = command_line;
                }
            }
            p.exe = exe;
            p.cwd = additional_field(&row, "ProcessCurrentWorkingDirectory");
            p.parent_exe = initiating_image;
            p.parent_command_line = row.text("InitiatingProcessCommandLine");
            p.original_file_name = row.text("ProcessVersionInfoOriginalFileName");
            p.process_guid = identity(&device, p.pid, row.text("ProcessCreationTime").as_deref());
            p.parent_process_guid = initiating;
            p.origin = ProcessOrigin::Exec;
            Some(Event::Process(p))
        }
        Table::Network => {
            let kind = match action.as_str() {
                "ListeningConnectionCreated" | "InboundConnectionAccepted" => NetworkKind::Listen,
                "ConnectionSuccess"
                | "ConnectionFailed"
                | "ConnectionAttempt"
                | "ConnectionRequest"
                | "ConnectionAcknowledged" => NetworkKind::Connect,
                _ => return Ok(None),
            };
            Some(Event::Network(NetworkActivity {
                time,
                host,
                pid: row.pid("InitiatingProcessId"),
                process_guid: initiating,
                image: initiating_image,
                kind,
                local: endpoint(&row, "LocalIP", "LocalPort"),
                remote: endpoint(&row, "RemoteIP", "RemotePort"),
                provenance,
            }))
        }
        Table::File => {
            let kind = match action.as_str() {
                "FileCreated" => FileWriteKind::Created,
                "FileModified" => FileWriteKind::Modified,
                "FileRenamed" => FileWriteKind::Renamed,
                _ => return Ok(None),
            };
            let Some(path) = image(row.text("FolderPath"), row.text("FileName")) else {
                return Err("DeviceFileEvents row without FolderPath or FileName; skipped".into());
            };
            Some(Event::FileWrite(FileWrite {
                time,
                host,
                pid: row.pid("InitiatingProcessId"),
                process_guid: initiating,
                image: initiating_image,
                path,
                kind,
                provenance,
            }))
        }
    })
}

/// A process's identity across tables: device, pid and creation time (to the
/// microsecond, however the shape wrote it).
fn identity(device: &str, pid: Option<u32>, created: Option<&str>) -> Option<String> {
    let pid = pid?;
    let created = created?;
    let created = parse_time(created)
        .map(|t| t.timestamp_micros().to_string())
        .unwrap_or_else(|| created.to_string());
    Some(format!("{device}/{pid}/{created}"))
}

/// The full path of a file: `FolderPath` is the full path in MDE's data, but the
/// schema calls it the folder, and some exports hold only that.
fn image(folder: Option<String>, file: Option<String>) -> Option<String> {
    match (folder, file) {
        (Some(folder), Some(file)) => {
            let last = folder.rsplit(['/', '\\']).next().unwrap_or(&folder);
            if last.eq_ignore_ascii_case(&file) {
                Some(folder)
            } else {
                let sep = if folder.contains('\\') { '\\' } else { '/' };
                Some(format!(
                    "{}{sep}{file}",
                    folder.trim_end_matches(['/', '\\'])
                ))
            }
        }
        (Some(folder), None) => Some(folder),
        (None, file) => file,
    }
}

/// Linux/macOS rows have `/` paths; Windows rows drive letters and `.exe`.
fn platform_of(exe: Option<&str>, parent: Option<&str>, command_line: Option<&str>) -> Platform {
    for path in [exe, parent].into_iter().flatten() {
        if path.starts_with('/') {
            return Platform::Unix;
        }
        if path.contains('\\') || path.to_ascii_lowercase().ends_with(".exe") {
            return Platform::Windows;
        }
    }
    if command_line.is_some_and(|c| c.contains('\\')) {
        Platform::Windows
    } else {
        Platform::Unix
    }
}

/// The account: `DOMAIN\name` on Windows (as Sysmon writes `User`), the name on
/// Linux and macOS (whose `AccountDomain` is the host name).
fn account(row: &Row<'_>, platform: Platform) -> Option<String> {
    let name = row.text("AccountName")?;
    match (platform, row.text("AccountDomain")) {
        (Platform::Windows, Some(domain)) => Some(format!("{domain}\\{name}")),
        _ => Some(name),
    }
}

/// A field of the `AdditionalFields` JSON (an object, or JSON text in exports).
fn additional_field(row: &Row<'_>, name: &str) -> Option<String> {
    let parsed;
    let object = match row.value("AdditionalFields")? {
        Value::Object(m) => m,
        Value::String(s) if s.len() <= 64 * 1024 && s.trim_start().starts_with('{') => {
            parsed = serde_json::from_str::<Map<String, Value>>(s).ok()?;
            &parsed
        }
        _ => return None,
    };
    object
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn endpoint(row: &Row<'_>, ip: &str, port: &str) -> Option<String> {
    let ip = row.text(ip)?;
    Some(match row.pid(port) {
        Some(port) if ip.contains(':') => format!("[{ip}]:{port}"),
        Some(port) => format!("{ip}:{port}"),
        None => ip,
    })
}

/// A time as the shapes write it: RFC 3339 with up to seven fraction digits (the
/// API, the Streaming API, JSON exports), the same without a zone, or Log Analytics'
/// and the portal's CSV forms (`12/5/2026, 8:15:30.123 AM`, `Dec 5, 2026 8:15:30 AM`),
/// all UTC.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Some(t) = crate::sources::windows::parse_time(s) {
        return Some(t);
    }
    let s = s.trim();
    [
        "%m/%d/%Y, %I:%M:%S%.f %p",
        "%m/%d/%Y %I:%M:%S%.f %p",
        "%b %d, %Y %I:%M:%S%.f %p",
        "%b %d, %Y, %I:%M:%S%.f %p",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .map(|t| t.and_utc())
}
