//! The normalized event model every source produces and every detector reads.
//!
//! Sources know their format's quirks (auditd serial grouping, hex arguments, EVTX
//! chunks, Winlogbeat field names …); what leaves a source is one of the few shapes
//! below, so a detector never has to know where an event came from.

use std::sync::Arc;

use chrono::{DateTime, Utc};

/// The seed's two platform values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    /// Linux and macOS (the seed's `"Linux/macOS"`).
    Unix,
    /// Windows.
    Windows,
}

impl Platform {
    /// The string the seed query writes into its `platform` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Unix => "Linux/macOS",
            Platform::Windows => "Windows",
        }
    }
}

/// Where a piece of evidence was read: carried unchanged into every finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// The input's display path (`-` for stdin, `/proc` for live checks).
    pub path: Arc<str>,
    /// Position within the input.
    pub position: Position,
    /// Name of the format the source parsed (`auditd`, `evtx`, …).
    pub format: &'static str,
}

/// A position within an input: a 1-based line for text, a record number for EVTX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    Line(u64),
    Record(u64),
    /// Live checks have no position in a file.
    None,
}

/// One normalized event.
// Process starts are the common case; boxing them would add an allocation per event
// to save a copy nobody makes (events are passed by reference).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Event {
    Process(ProcessStart),
    Script(ScriptBlock),
    Network(NetworkActivity),
    FileWrite(FileWrite),
}

impl Event {
    pub fn provenance(&self) -> &Provenance {
        match self {
            Event::Process(p) => &p.provenance,
            Event::Script(s) => &s.provenance,
            Event::Network(n) => &n.provenance,
            Event::FileWrite(f) => &f.provenance,
        }
    }

    pub fn time(&self) -> Option<DateTime<Utc>> {
        match self {
            Event::Process(p) => p.time,
            Event::Script(s) => s.time,
            Event::Network(n) => n.time,
            Event::FileWrite(f) => f.time,
        }
    }
}

/// A program started (auditd execve, Sysmon 1, Security 4688, eslogger exec …), or a
/// command line seen in a log line that records what was run (cron, sudo, history).
#[derive(Debug, Clone)]
pub struct ProcessStart {
    pub time: Option<DateTime<Utc>>,
    /// The seed's `_sourceHost`: auditd `node=`, syslog host, `Computer`, or empty.
    pub host: String,
    pub platform: Platform,
    pub pid: Option<u32>,
    pub ppid: Option<u32>,
    /// User name when the log resolves it, else the numeric uid as text.
    pub user: Option<String>,
    /// Audit login uid (who logged in, whatever they became).
    pub auid: Option<u32>,
    /// Login session id (auditd `ses=`), shared by every process of one login.
    pub session: Option<u32>,
    /// The executable image (`exe=` in auditd, `Image` in Sysmon).
    pub exe: Option<String>,
    /// The 15-byte kernel task name, when the source has it.
    pub comm: Option<String>,
    /// Exact argv where the source has it (auditd, eslogger); otherwise split from
    /// the command line with the platform's rules.
    pub argv: Vec<String>,
    /// The full command line, decoded (hex and split arguments joined).
    pub command_line: String,
    pub cwd: Option<String>,
    /// Controlling terminal (`pts/0`, `ttys003`) where the log records it (sudo `TTY=`).
    pub tty: Option<String>,
    pub parent_exe: Option<String>,
    pub parent_command_line: Option<String>,
    /// PE `OriginalFileName` (Sysmon 1), which survives renaming the binary.
    pub original_file_name: Option<String>,
    /// Stable process identity where the source has one (Sysmon ProcessGuid).
    pub process_guid: Option<String>,
    pub parent_process_guid: Option<String>,
    /// A name the source tags events with (auditd `key=`), if any.
    pub key: Option<String>,
    /// What kind of record this came from; lets detectors apply source-specific
    /// exclusions (the seed excludes cron) without knowing the format.
    pub origin: ProcessOrigin,
    pub provenance: Provenance,
}

/// Which log statement a `ProcessStart` was reconstructed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessOrigin {
    /// A kernel or EDR process-creation record with real argv.
    Exec,
    /// A scheduler's log of the command it ran, with the scheduler's name
    /// (`cron`, `anacron`, `crond`).
    Scheduler(String),
    /// A command typed or requested in a shell (`sudo` COMMAND=, bash history),
    /// known only as text.
    CommandText,
}

/// Detector tests start from an auditd exec.
#[cfg(test)]
impl ProcessStart {
    /// An exec of `argv` by `pid` (child of `ppid`) on host `h`, read from line 1 of
    /// `audit.log`, with its command line joined the way the auditd source joins argv.
    pub(crate) fn test_exec(argv: &[&str], pid: u32, ppid: u32) -> ProcessStart {
        let mut p = ProcessStart::new(
            Platform::Unix,
            Provenance {
                path: std::sync::Arc::from("audit.log"),
                position: Position::Line(1),
                format: "auditd",
            },
        );
        p.argv = argv.iter().map(|s| s.to_string()).collect();
        p.command_line = crate::command::join_argv(&p.argv);
        p.pid = Some(pid);
        p.ppid = Some(ppid);
        p.host = "h".into();
        p
    }
}

impl ProcessStart {
    /// An empty process start on `platform`, read at `provenance`; sources fill in
    /// what their format records.
    pub fn new(platform: Platform, provenance: Provenance) -> Self {
        ProcessStart {
            time: None,
            host: String::new(),
            platform,
            pid: None,
            ppid: None,
            user: None,
            auid: None,
            session: None,
            exe: None,
            comm: None,
            argv: Vec::new(),
            command_line: String::new(),
            cwd: None,
            tty: None,
            parent_exe: None,
            parent_command_line: None,
            original_file_name: None,
            process_guid: None,
            parent_process_guid: None,
            key: None,
            origin: ProcessOrigin::Exec,
            provenance,
        }
    }
}

/// PowerShell script text (4104 reassembled by ScriptBlockId, 4103 payloads, 800
/// pipeline details).
#[derive(Debug, Clone)]
pub struct ScriptBlock {
    pub time: Option<DateTime<Utc>>,
    pub host: String,
    pub pid: Option<u32>,
    pub user: Option<String>,
    /// ScriptBlockId for 4104; empty where the log has none.
    pub script_block_id: String,
    /// The script path, if the block came from a file.
    pub path: Option<String>,
    /// The host application (`powershell.exe -enc …`) where the log records it.
    pub host_application: Option<String>,
    pub text: String,
    /// Event id the text came from (4104, 4103, 800).
    pub event_id: u32,
    pub provenance: Provenance,
}

/// A socket bound, listened on or connected (auditd bind/listen, Sysmon 3).
#[derive(Debug, Clone)]
pub struct NetworkActivity {
    pub time: Option<DateTime<Utc>>,
    pub host: String,
    pub pid: Option<u32>,
    pub process_guid: Option<String>,
    pub image: Option<String>,
    pub kind: NetworkKind,
    pub local: Option<String>,
    pub remote: Option<String>,
    pub provenance: Provenance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkKind {
    Bind,
    Listen,
    Connect,
}

/// A file created, modified or renamed into place by a process (MDE DeviceFileEvents):
/// a payload being prepared, as `chmod +x` or a download is in a command line.
#[derive(Debug, Clone)]
pub struct FileWrite {
    pub time: Option<DateTime<Utc>>,
    pub host: String,
    /// The process that wrote the file.
    pub pid: Option<u32>,
    pub process_guid: Option<String>,
    pub image: Option<String>,
    /// The full path of the file written (for a rename, its new path).
    pub path: String,
    pub kind: FileWriteKind,
    pub provenance: Provenance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileWriteKind {
    Created,
    Modified,
    Renamed,
}
