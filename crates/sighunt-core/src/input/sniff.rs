//! Format sniffing: which source parses an input is decided by its content, never by
//! its file name.

use std::fmt;
use std::str::FromStr;

use memchr::memmem;

/// Every input format sighunt reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputFormat {
    /// Linux audit records (raw or enriched `audit.log`, or wrapped in syslog).
    Auditd,
    /// Binary Windows event log.
    Evtx,
    /// Windows events as XML (`wevtutil qe /f:xml`, `<Events>` documents).
    WindowsXml,
    /// JSON events, one object per line or an array.
    Json,
    /// Syslog text (RFC 3164, RFC 5424, ISO timestamps).
    Syslog,
    /// macOS Endpoint Security JSON lines as `eslogger` prints them.
    Eslogger,
    /// journald JSON export (`journalctl -o json`).
    Journald,
    /// macOS unified log as `log show --style ndjson` prints it.
    UnifiedLog,
    /// Microsoft Defender for Endpoint advanced hunting rows (Streaming API, hunting
    /// exports and API results, Sentinel exports; JSON or CSV).
    Mde,
}

impl InputFormat {
    pub const ALL: [InputFormat; 9] = [
        InputFormat::Auditd,
        InputFormat::Evtx,
        InputFormat::WindowsXml,
        InputFormat::Json,
        InputFormat::Syslog,
        InputFormat::Eslogger,
        InputFormat::Journald,
        InputFormat::UnifiedLog,
        InputFormat::Mde,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InputFormat::Auditd => "auditd",
            InputFormat::Evtx => "evtx",
            InputFormat::WindowsXml => "xml",
            InputFormat::Json => "json",
            InputFormat::Syslog => "syslog",
            InputFormat::Eslogger => "eslogger",
            InputFormat::Journald => "journald",
            InputFormat::UnifiedLog => "unifiedlog",
            InputFormat::Mde => "mde",
        }
    }
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        InputFormat::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<_> = InputFormat::ALL.iter().map(|f| f.as_str()).collect();
                format!(
                    "unknown input format {s:?} (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

pub use super::decode::{Compression, compression};

/// How many leading lines the text sniffers look at.
const SNIFF_LINES: usize = 64;

/// The format of a (decompressed) stream whose first bytes are `head`, or `None`
/// when nothing sighunt reads looks like it.
pub fn sniff(head: &[u8]) -> Option<InputFormat> {
    let whole = sniff_from_start(head);
    if !matches!(whole, None | Some(InputFormat::Json)) {
        return whole;
    }
    // A cut or garbled first line (a log copied from the middle, a torn write) must
    // not hide the format of every line after it: judge again without it. A specific
    // JSON shape (eslogger, unified log) seen after it wins over generic JSON.
    let text = strip_bom(head);
    let rest = memchr::memchr(b'\n', text).map(|i| &text[i + 1..]);
    match rest.filter(|r| !r.iter().all(u8::is_ascii_whitespace)) {
        Some(rest) => match (whole, sniff_from_start(rest)) {
            (None, later) => later,
            (Some(InputFormat::Json), Some(later)) if later != InputFormat::Evtx => Some(later),
            (whole, _) => whole,
        },
        None => whole,
    }
}

/// [`sniff`] judging from the first byte on.
fn sniff_from_start(head: &[u8]) -> Option<InputFormat> {
    if head.starts_with(b"ElfFile\0") {
        return Some(InputFormat::Evtx);
    }
    let text = strip_bom(head);
    if looks_like_mde(text) {
        return Some(InputFormat::Mde);
    }
    if let Some(format) = sniff_unix_json(text) {
        return Some(format);
    }
    let first = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|i| text[i]);
    // Audit records first: they may sit inside syslog lines (audispd:, audit:).
    let mut lines = 0;
    let mut audit = 0;
    let mut syslog = 0;
    // Audit records inside syslog lines (audispd:, audit:).
    let mut audit_in_syslog = 0;
    for line in text.split(|&b| b == b'\n').take(SNIFF_LINES) {
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        lines += 1;
        if is_audit_line(line) {
            audit += 1;
            if looks_like_syslog(line) {
                audit_in_syslog += 1;
            }
        } else if looks_like_syslog(line) {
            syslog += 1;
        }
    }
    if lines > 0 && audit * 2 >= lines {
        // A syslog file mixing audit lines and other programs' lines: the syslog
        // source reads both (it hands the audit lines to the auditd source).
        if syslog > 0 && audit_in_syslog == audit {
            return Some(InputFormat::Syslog);
        }
        return Some(InputFormat::Auditd);
    }
    match first {
        Some(b'<') if memmem::find(text, b"<Event").is_some() && syslog == 0 => {
            return Some(InputFormat::WindowsXml);
        }
        Some(b'{') | Some(b'[') => return Some(InputFormat::Json),
        _ => {}
    }
    if syslog > 0 && syslog * 2 >= lines {
        return Some(InputFormat::Syslog);
    }
    if audit > 0 {
        return Some(InputFormat::Auditd);
    }
    None
}

/// JSON-lines shapes of the Linux/macOS sources, told apart by their field names;
/// any other JSON is left to the generic JSON reader. The unified log may start with
/// a `Filtering the log data using …` line.
fn sniff_unix_json(text: &[u8]) -> Option<InputFormat> {
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let text = &text[start..];
    if !text.starts_with(b"{") && !text.starts_with(b"Filtering the log data") {
        return None;
    }
    let line = text
        .split(|&b| b == b'\n')
        .take(SNIFF_LINES)
        .map(|l| l.trim_ascii_start())
        .find(|l| l.starts_with(b"{"))?;
    let has = |needle: &[u8]| memmem::find(line, needle).is_some();
    if has(b"\"audit_token\"")
        && has(b"\"process\"")
        && (has(b"\"event_type\"") || has(b"\"schema_version\""))
    {
        Some(InputFormat::Eslogger)
    } else if has(b"\"__REALTIME_TIMESTAMP\"") && (has(b"\"MESSAGE\"") || has(b"\"__CURSOR\"")) {
        Some(InputFormat::Journald)
    } else if has(b"\"eventMessage\"") {
        Some(InputFormat::UnifiedLog)
    } else {
        None
    }
}

/// MDE rows: JSON naming a device and an action or an advanced hunting table (the
/// column names appear as keys, or as values in a column list), or a CSV header with
/// an `ActionType` and a `DeviceName` or `DeviceId` column.
fn looks_like_mde(text: &[u8]) -> bool {
    let Some(start) = text.iter().position(|b| !b.is_ascii_whitespace()) else {
        return false;
    };
    let text = &text[start..];
    let has = |needle: &[u8]| memmem::find(text, needle).is_some();
    if text.starts_with(b"{") || text.starts_with(b"[") {
        return (has(b"\"DeviceId\"") || has(b"\"DeviceName\"") || has(b"\"DeviceName_s\""))
            && (has(b"\"ActionType") || has(b"AdvancedHunting"));
    }
    let header = text.split(|&b| b == b'\n').next().unwrap_or_default();
    let cells: Vec<&[u8]> = header
        .split(|&b| b == b',')
        .map(|c| {
            let c = c.trim_ascii();
            c.strip_prefix(b"\"").unwrap_or(c)
        })
        .collect();
    let cell = |name: &[u8]| {
        cells.iter().any(|c| {
            c.strip_prefix(name)
                .is_some_and(|rest| rest.is_empty() || rest[0] == b'"' || rest[0] == b' ')
        })
    };
    cells.len() > 2 && cell(b"ActionType") && (cell(b"DeviceName") || cell(b"DeviceId"))
}

fn strip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)
}

/// Whether a line carries an audit record: `type=X msg=audit(` (auditd) or
/// `type=N audit(` (kernel printk).
pub fn is_audit_line(line: &[u8]) -> bool {
    memmem::find(line, b"type=").is_some()
        && (memmem::find(line, b"msg=audit(").is_some() || memmem::find(line, b" audit(").is_some())
}

/// Whether a line starts like syslog: `<PRI>`, an RFC 3164 `Mmm dd hh:mm:ss`, or an
/// ISO date (`2025-12-10T22:27:58…`, `2025-12-10 22:27:58…`).
pub fn looks_like_syslog(line: &[u8]) -> bool {
    let line = match line.strip_prefix(b"<") {
        Some(rest) => match rest.iter().position(|&b| b == b'>') {
            Some(i) if i <= 3 && rest[..i].iter().all(u8::is_ascii_digit) => &rest[i + 1..],
            _ => return false,
        },
        None => line,
    };
    let line = line.strip_prefix(b"1 ").unwrap_or(line);
    const MONTHS: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    if line.len() >= 15 && MONTHS.iter().any(|m| line.starts_with(m)) && line[3] == b' ' {
        return line[9] == b':' || line[10] == b':' || line[6] == b':';
    }
    line.len() >= 19
        && line[..4].iter().all(u8::is_ascii_digit)
        && line[4] == b'-'
        && line[7] == b'-'
        && (line[10] == b'T' || line[10] == b' ')
        && line[13] == b':'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(b"ElfFile\0\0\0"), Some(InputFormat::Evtx));
        assert_eq!(
            sniff(b"type=EXECVE msg=audit(1615114232.375:15558): argc=1 a0=\"whoami\"\n"),
            Some(InputFormat::Auditd)
        );
        assert_eq!(
            sniff(b"Mar 27 00:37:34 vnode03 audispd: node=vnode03.vuln type=CWD msg=audit(1585291054.568:2911):  cwd=\"/var/www/html\"\n"),
            Some(InputFormat::Auditd)
        );
        assert_eq!(
            sniff(
                b"[   14.133637] audit: type=1334 audit(1675140692.232:36): prog-id=26 op=LOAD\n"
            ),
            Some(InputFormat::Auditd)
        );
        assert_eq!(sniff(b"  {\"EventID\": 1}\n"), Some(InputFormat::Json));
        assert_eq!(
            sniff(b"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"),
            Some(InputFormat::WindowsXml)
        );
        assert_eq!(
            sniff(b"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure\n"),
            Some(InputFormat::Syslog)
        );
        assert_eq!(
            sniff(b"<134>Aug 23 10:30:16 host sysmon: <Event><System>"),
            Some(InputFormat::Syslog)
        );
        assert_eq!(sniff(b"\x00\x01\x02garbage\xff\xfe"), None);
        assert_eq!(sniff(b"just some text\n"), None);
    }

    #[test]
    fn sniffs_linux_and_macos_shapes() {
        let es = br#"{"event_type":9,"version":9,"schema_version":1,"process":{"audit_token":{"pid":1}},"event":{"exec":{}}}"#;
        assert_eq!(sniff(es), Some(InputFormat::Eslogger));
        let journal =
            br#"{"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1795838970123456","MESSAGE":"x"}"#;
        assert_eq!(sniff(journal), Some(InputFormat::Journald));
        let unified = b"Filtering the log data using \"process == \\\"sudo\\\"\"\n{\"eventMessage\":\"x\",\"processImagePath\":\"/usr/bin/sudo\"}\n";
        assert_eq!(sniff(unified), Some(InputFormat::UnifiedLog));
        // Other JSON stays with the generic JSON reader.
        assert_eq!(
            sniff(br#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational"}"#),
            Some(InputFormat::Json)
        );
        // Audit records inside syslog beside other programs' lines: the syslog source
        // reads both; audit records alone stay auditd.
        let mixed = b"Nov 28 04:53:42 vm sudo:     root : PWD=/root ; USER=root ; COMMAND=/usr/bin/id\nMar 27 00:37:34 vnode03 audispd: node=vnode03.vuln type=CWD msg=audit(1585291054.568:2911):  cwd=\"/\"\nMar 27 00:37:34 vnode03 audispd: node=vnode03.vuln type=EOE msg=audit(1585291054.568:2911):\n";
        assert_eq!(sniff(mixed), Some(InputFormat::Syslog));
        assert_eq!(sniff(&mixed[80..]), Some(InputFormat::Auditd));
        for name in ["eslogger", "journald", "unifiedlog"] {
            assert_eq!(name.parse::<InputFormat>().unwrap().as_str(), name);
        }
    }

    #[test]
    fn sniffs_mde_shapes() {
        let stream = br#"{"time":"2026-11-30T09:21:35.1234560Z","tenantId":"t","operationName":"Publish","category":"AdvancedHunting-DeviceProcessEvents","properties":{"Timestamp":"2026-11-30T09:20:00.1234560Z","DeviceId":"d","DeviceName":"h","ActionType":"ProcessCreated"}}"#;
        assert_eq!(sniff(stream), Some(InputFormat::Mde));
        let api = b"{\n  \"Schema\": [{\"Name\": \"Timestamp\"}, {\"Name\": \"DeviceName\"}, {\"Name\": \"ActionType\"}],\n  \"Results\": []}";
        assert_eq!(sniff(api), Some(InputFormat::Mde));
        let custom = br#"{"Type":"AdvancedHuntingDeviceProcessEvents_CL","DeviceName_s":"h","TimeGenerated":"x"}"#;
        assert_eq!(sniff(custom), Some(InputFormat::Mde));
        let csv = b"\xEF\xBB\xBF\"TimeGenerated [UTC]\",DeviceName,ActionType,FileName\r\nx,h,ProcessCreated,nohup\r\n";
        assert_eq!(sniff(csv), Some(InputFormat::Mde));
        // Not MDE: Sysmon JSON names no device; a CSV needs ActionType and a device column.
        assert_eq!(
            sniff(br#"{"EventID":1,"Computer":"DeviceName","Image":"x"}"#),
            Some(InputFormat::Json)
        );
        assert_eq!(sniff(b"ActionTypes,DeviceNames,x\n1,2,3\n"), None);
        assert_eq!("mde".parse::<InputFormat>(), Ok(InputFormat::Mde));
    }

    #[test]
    fn compression_by_magic() {
        assert_eq!(compression(&[0x1f, 0x8b, 8]), Compression::Gzip);
        assert_eq!(compression(&[0x28, 0xb5, 0x2f, 0xfd]), Compression::Zstd);
        assert_eq!(compression(b"type="), Compression::None);
    }
}
