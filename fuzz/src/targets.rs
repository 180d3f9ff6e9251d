//! The fuzz targets' bodies: one function per parser, taking arbitrary bytes.
//!
//! Shared by the libFuzzer targets (`fuzz_targets/*.rs`), the stable-Rust mutation
//! runner (`src/bin/stable-fuzz.rs`) and the regression test that replays the seed
//! corpora and crash reproducers (`tests/fuzz_regressions.rs` includes this file by
//! path), so a reproducer is replayed through exactly the code that found it.
//!
//! Each function must never panic whatever the input; where a parser promises more
//! than "no panic" (a line limit, a command limit) the promise is asserted too.

use std::io::{self, BufReader, Cursor};
use std::sync::{Arc, OnceLock};

use sighunt::output;
use sighunt_core::command::{self, CommandRules};
use sighunt_core::detectors::nohup::NohupDetector;
use sighunt_core::detectors::powershell;
use sighunt_core::detectors::signal_mask::SignalMaskDetector;
use sighunt_core::detectors::{Detector, Findings};
use sighunt_core::event::Event;
use sighunt_core::input::Payload;
use sighunt_core::input::lines::{Line, LineReader};
use sighunt_core::input::sniff;
use sighunt_core::rules::Rules;
use sighunt_core::shell;
use sighunt_core::sources::LineParser;
use sighunt_core::sources::auditd::{self, AuditParser};
use sighunt_core::sources::eslogger::{EsloggerParser, UnifiedLogParser};
use sighunt_core::sources::journald::JournaldParser;
use sighunt_core::sources::mde::{self, MdeParser};
use sighunt_core::sources::syslog::SyslogParser;
use sighunt_core::sources::windows;

/// A target: a name (the `fuzz_targets/` file and `corpus/` folder) and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, in the order `ci.sh` runs them.
pub const TARGETS: &[Target] = &[
    ("auditd", auditd),
    ("shell", shell),
    ("command", command),
    ("sniff", sniff),
    ("lines", lines),
    ("text_sources", text_sources),
    ("evtx", evtx),
    ("win_xml", win_xml),
    ("win_json", win_json),
    ("powershell", powershell),
    ("mde", mde),
];

/// The target called `name`.
pub fn by_name(name: &str) -> Option<fn(&[u8])> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(Rules::embedded)
}

fn command_rules() -> &'static CommandRules {
    static COMMANDS: OnceLock<CommandRules> = OnceLock::new();
    COMMANDS.get_or_init(|| rules().section("commands").expect("embedded [commands]"))
}

use sighunt_core::sources::CollectingSink as Collect;

/// Audit text: every line through the record parser and its field iterator, then
/// all lines through [`AuditParser`] (event assembly: interleaving, `aN[i]` chunks,
/// hex decoding, timeouts), then the events through the Unix detectors and the
/// findings through every output writer.
pub fn auditd(data: &[u8]) {
    for line in data.split(|&b| b == b'\n') {
        if let Some(rec) = auditd::parse_record(line) {
            for (_, v) in auditd::fields(rec.body).chain(auditd::fields(rec.enriched)) {
                let _ = v.decode();
            }
        }
    }
    let mut parser = AuditParser::new(Arc::from("fuzz.log"));
    let mut sink = Collect::default();
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        parser.line(line, i as u64 + 1, &mut sink);
    }
    parser.finish(&mut sink);
    for e in &sink.errors {
        assert_eq!(&*e.path, "fuzz.log", "an error names its file: {e}");
    }
    detect_and_write(&sink.events);
}

/// The Unix detectors (the PowerShell one compiles its regex sets when built, far
/// too slow to do per input; it has its own target).
fn detect_and_write(events: &[Event]) {
    let mut set: Vec<Box<dyn Detector>> = vec![
        Box::new(NohupDetector::new(rules()).expect("embedded rules")),
        Box::new(SignalMaskDetector::new(rules()).expect("embedded rules")),
    ];
    let mut findings = Findings::default();
    for e in events {
        for d in &mut set {
            d.observe(e, &mut findings);
        }
    }
    for d in &mut set {
        d.finish(&mut findings);
    }
    let findings = findings.drain();
    let mut out = io::sink();
    output::write_table(&mut out, &findings, false).expect("writing to a sink");
    output::write_jsonl(&mut out, &findings).expect("writing to a sink");
    output::write_csv(&mut out, &findings).expect("writing to a sink");
}

/// The shell lexer/parser on the input as text (lossily, as the callers pass
/// decoded command lines), and word splitting.
pub fn shell(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let commands = shell::parse(&text);
    assert!(commands.len() <= 4096, "at most 4096 commands");
    let _ = shell::split_words(&text);
}

/// Command unwrapping: the input as an argv (NUL-separated, as `/proc/PID/cmdline`
/// and `PROCTITLE` carry it) and as a shell command line.
pub fn command(data: &[u8]) {
    let argv: Vec<String> = data
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let rules = command_rules();
    for inv in command::from_argv(&argv, rules) {
        let _ = inv.program();
    }
    let text = String::from_utf8_lossy(data);
    for inv in command::from_shell_text(&text, rules) {
        let _ = inv.program();
    }
}

/// Format and compression sniffing on a stream head, and the per-line probes.
pub fn sniff(data: &[u8]) {
    let _ = sniff::compression(data);
    let _ = sniff::sniff(data);
    for line in data.split(|&b| b == b'\n').take(256) {
        let _ = sniff::is_audit_line(line);
        let _ = sniff::looks_like_syslog(line);
    }
}

/// The bounded line reader, with buffer size and line cap taken from the first two
/// bytes so that lines straddle buffer edges and the cap in every way. Checks that
/// every input byte is accounted for and that no line exceeds the cap.
pub fn lines(data: &[u8]) {
    let (cap, max, body) = match data {
        [a, b, rest @ ..] => (usize::from(*a % 64) + 1, usize::from(*b), rest),
        _ => (8, 16, data),
    };
    let mut reader = LineReader::new(BufReader::with_capacity(cap, body), max);
    let mut accounted = 0u64;
    let mut count = 0u64;
    loop {
        let before = reader.offset();
        match reader.next_line() {
            Ok(Some(Line::Text(t))) => {
                assert!(t.len() <= max, "line of {} bytes over cap {max}", t.len());
                assert!(!t.contains(&b'\n'));
            }
            Ok(Some(Line::TooLong { bytes })) => {
                assert!(bytes > max as u64, "too long at {bytes} <= {max}");
            }
            Ok(None) => break,
            Err(e) => panic!("reading a slice cannot fail: {e}"),
        }
        count += 1;
        assert_eq!(reader.line_no(), count);
        assert!(reader.offset() > before, "each line consumes input");
        accounted = reader.offset();
    }
    assert_eq!(accounted, body.len() as u64, "every byte is consumed");
}

/// The other line-oriented sources (syslog, journald export/JSON, macOS eslogger
/// and unified log), each fed every line, then their events through the Unix
/// detectors.
pub fn text_sources(data: &[u8]) {
    let name: Arc<str> = Arc::from("fuzz.log");
    let parsers: Vec<Box<dyn LineParser>> = vec![
        Box::new(SyslogParser::new(name.clone())),
        Box::new(JournaldParser::new(name.clone())),
        Box::new(EsloggerParser::new(name.clone())),
        Box::new(UnifiedLogParser::new(name)),
    ];
    let mut sink = Collect::default();
    for mut parser in parsers {
        for (i, line) in data.split(|&b| b == b'\n').enumerate() {
            parser.line(line, i as u64 + 1, &mut sink);
        }
        parser.finish(&mut sink);
    }
    detect_and_write(&sink.events);
}

/// EVTX glue: the input as the chunks of an EVTX stream behind a minimal file
/// header (the stream path checks only the magic), so that mutations land in the
/// chunk header, string and template tables and records.
pub fn evtx(data: &[u8]) {
    let mut file = b"ElfFile\0".to_vec();
    file.resize(4096, 0);
    file.extend_from_slice(data);
    let mut sink = Collect::default();
    windows::read_evtx(
        &Arc::from("fuzz.evtx"),
        Payload::Stream(Box::new(Cursor::new(file))),
        &mut sink,
    );
}

/// Windows event XML: one event parsed alone, and the input as a stream of events.
pub fn win_xml(data: &[u8]) {
    let _ = windows::parse_event_xml(data);
    let mut sink = Collect::default();
    windows::read_xml(
        &Arc::from("fuzz.xml"),
        Box::new(Cursor::new(data.to_vec())),
        &mut sink,
    );
}

/// Windows events as JSON (lines, arrays, pretty-printed), read in small pieces.
pub fn win_json(data: &[u8]) {
    let mut sink = Collect::default();
    windows::read_json(
        &Arc::from("fuzz.json"),
        Box::new(BufReader::with_capacity(61, Cursor::new(data.to_vec()))),
        &mut sink,
    );
}

/// PowerShell command-line decoding: host argument parsing (Windows and pwsh
/// syntax), -EncodedCommand base64/UTF-16, nested decodes, caret stripping,
/// normalization and the suppression scan.
pub fn powershell(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = powershell::decode_encoded_command(&text);
    for args in [
        command::split_command_line(&text),
        shell::split_words(&text),
    ] {
        let _ = powershell::parse_host_args(&args, false, true);
        let _ = powershell::parse_host_args(&args, true, false);
    }
    let _ = powershell::nested_decodes(&text);
    let stripped = powershell::strip_carets(&text);
    let norm = powershell::normalize(&stripped);
    let _ = powershell::suppression(&norm).any();
    let _ = powershell::commands_from_4103(&text, &[]);
    let _ = powershell::command_line_key(&text);
}

/// Microsoft Defender for Endpoint rows: the input as a stream read in small pieces
/// (JSON wrappers streamed row by row, or CSV), and line by line through the push
/// parser; every error names its file; the events through the Unix detectors
/// (file writes reach correlation).
pub fn mde(data: &[u8]) {
    let name: Arc<str> = Arc::from("fuzz.mde");
    let mut sink = Collect::default();
    mde::read_mde(
        &name,
        Box::new(BufReader::with_capacity(61, Cursor::new(data.to_vec()))),
        &mut sink,
    );
    let mut parser = MdeParser::new(name);
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        parser.line(line, i as u64 + 1, &mut sink);
    }
    parser.finish(&mut sink);
    for e in &sink.errors {
        assert_eq!(&*e.path, "fuzz.mde", "an error names its file: {e}");
        assert!(e.location.is_some(), "an error names its position: {e}");
    }
    detect_and_write(&sink.events);
}
