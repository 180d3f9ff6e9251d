//! A large JSON Lines file read as parallel ranges ([`crate::sources::chunked`]
//! plans them at line starts and numbers their first lines).
//!
//! Only files the whole-file reader itself reads as JSON Lines are split: its
//! splitter decides that from the first object (one object on one line), and from
//! then on reads every line on its own (an array opened on a line ends with it;
//! `,` and `]` between lines are separators), so a range that starts at a line start
//! is read exactly as the whole file would read those lines. A pretty-printed array
//! or multi-line objects are never split ([`is_json_lines`]).
//!
//! The one state that spans events, multi-part 4104 script blocks waiting for their
//! other parts, is not kept per range: a range parses, probes and builds every
//! event, maps those that stand alone, and defers script block parts to the single
//! [`Mapper`] on the engine's thread, which receives them in file order. Findings
//! and errors are therefore those of the whole-file read, on any thread count.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use super::super::map::{Mapper, needs_order};
use super::super::{FORMAT_JSON, WinEvent};
use super::{JsonSplitter, event_of_piece};
use crate::event::Position;
use crate::input::InputError;
use crate::sources::RangeSink;
use crate::sources::chunked::Range;

/// How much of a file's head is read to see whether it is JSON Lines.
const HEAD_BYTES: usize = 1024 * 1024;

/// An event whose mapping waits for its turn in file order.
pub struct Deferred {
    event: WinEvent,
    line: u64,
}

impl Deferred {
    /// Maps the event with the one ordered `mapper`.
    pub fn finish(self, mapper: &mut Mapper, sink: &mut dyn crate::sources::EventSink) {
        mapper.map(self.event, Position::Line(self.line), sink);
    }
}

/// The mapper that finishes the [`Deferred`] events of a file's ranges, in order
/// (call its `finish` after the last range).
pub fn ordered_mapper(name: &Arc<str>) -> Mapper {
    Mapper::new(name.clone(), FORMAT_JSON)
}

/// Whether the whole-file reader reads `path` as JSON Lines: its first object (after
/// an optional byte-order mark and blank space) opens and closes on one line within
/// the first MiB.
pub fn is_json_lines(path: &Path) -> io::Result<bool> {
    let mut head = Vec::with_capacity(HEAD_BYTES);
    File::open(path)?
        .take(HEAD_BYTES as u64)
        .read_to_end(&mut head)?;
    Ok(reads_as_json_lines(&head))
}

/// [`is_json_lines`] on a file's first bytes.
fn reads_as_json_lines(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if head.trim_ascii_start().first() != Some(&b'{') {
        return false;
    }
    // The whole-file splitter itself decides; its first decision is final.
    let mut splitter = JsonSplitter::default();
    splitter.push(head, &mut |_, _| {});
    splitter.line_mode == Some(true)
}

/// Reads one range of a JSON Lines file into `sink`, deferring script block parts.
pub fn read_range(path: &Path, name: &Arc<str>, range: Range, sink: &mut dyn RangeSink<Deferred>) {
    let mut splitter = JsonSplitter {
        skip_irrelevant: true,
        line: range.first_line,
        line_mode: Some(true),
        ..JsonSplitter::default()
    };
    let opened = File::open(path).and_then(|mut f| {
        f.seek(SeekFrom::Start(range.start))?;
        Ok(BufReader::with_capacity(
            1024 * 1024,
            f.take(range.end - range.start),
        ))
    });
    let mut reader = match opened {
        Ok(r) => r,
        Err(e) => {
            sink.error(InputError::new(
                name,
                Some(format!("line {}", range.first_line)),
                format!("read error: {e}; rest of this input skipped"),
            ));
            return;
        }
    };
    // Maps the events that stand alone: they map the same with any mapper, and
    // this one holds no state (it never sees a script block part).
    let mut mapper = Mapper::new(name.clone(), FORMAT_JSON);
    let mut piece =
        |line: u64, piece: Result<&[u8], String>, sink: &mut dyn RangeSink<Deferred>| {
            handle_piece(name, &mut mapper, line, piece, sink)
        };
    // The file's first range drops a byte-order mark, as the whole-file read does.
    let mut first = range.start == 0;
    loop {
        let chunk = match reader.fill_buf() {
            Ok([]) => break,
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                sink.error(InputError::new(
                    name,
                    Some(format!("line {}", splitter.line)),
                    format!("read error: {e}; rest of this input skipped"),
                ));
                return;
            }
        };
        let n = chunk.len();
        let bytes = if std::mem::take(&mut first) {
            chunk.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(chunk)
        } else {
            chunk
        };
        splitter.push(bytes, &mut |line, p| piece(line, p, sink));
        reader.consume(n);
        sink.progress(n as u64);
    }
    // Only the last range can end inside an object (the others end at a newline).
    splitter.finish(&mut |line, p| piece(line, p, sink));
}

/// One piece of the splitter: built, and mapped here or deferred.
fn handle_piece(
    name: &Arc<str>,
    mapper: &mut Mapper,
    line: u64,
    piece: Result<&[u8], String>,
    sink: &mut dyn RangeSink<Deferred>,
) {
    match event_of_piece(piece) {
        Ok(None) => {}
        Ok(Some(event)) if needs_order(&event) => sink.defer(Deferred { event, line }),
        Ok(Some(event)) => mapper.map(event, Position::Line(line), sink),
        Err(e) => sink.error(InputError::new(name, Some(format!("line {line}")), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::sources::EventSink;

    #[derive(Default)]
    struct Collect {
        events: Vec<Event>,
        errors: Vec<InputError>,
        deferred: Vec<Deferred>,
    }

    impl EventSink for Collect {
        fn event(&mut self, event: Event) {
            self.events.push(event);
        }
        fn error(&mut self, error: InputError) {
            self.errors.push(error);
        }
    }

    impl RangeSink<Deferred> for Collect {
        fn defer(&mut self, x: Deferred) {
            self.deferred.push(x);
        }
    }

    #[test]
    fn ranges_read_what_the_whole_file_reads_bom_and_script_parts_included() {
        let sysmon = r#"{"EventID":1,"SourceName":"Microsoft-Windows-Sysmon","Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"h","Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd /c whoami","ProcessId":"7"}"#;
        let part = |n: u32| {
            format!(
                r#"{{"EventID":4104,"SourceName":"Microsoft-Windows-PowerShell","Channel":"Microsoft-Windows-PowerShell/Operational","Hostname":"h","ScriptBlockId":"b1","MessageNumber":"{n}","MessageTotal":"2","ScriptBlockText":"part{n};"}}"#
            )
        };
        let text = format!(
            "\u{feff}{sysmon}\n{}\n{{\"EventID\":5158}}\n{}\n{sysmon}",
            part(1),
            part(2)
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        std::fs::write(&path, &text).unwrap();
        let name: Arc<str> = Arc::from("x.json");
        // The oracle: the whole-file reader.
        let mut whole = crate::sources::CollectingSink::default();
        super::super::read_json(
            &name,
            Box::new(std::io::BufReader::new(File::open(&path).unwrap())),
            &mut whole,
        );
        assert!(whole.errors.is_empty(), "{:?}", whole.errors);
        assert_eq!(whole.events.len(), 3, "two processes, one joined block");
        // Cut after line 2 (inside the block) and read as two ranges in order.
        let cut = text.match_indices('\n').nth(1).unwrap().0 as u64 + 1;
        let len = text.len() as u64;
        let mut mapper = ordered_mapper(&name);
        let mut got = crate::sources::CollectingSink::default();
        for range in [
            Range {
                start: 0,
                end: cut,
                first_line: 1,
            },
            Range {
                start: cut,
                end: len,
                first_line: 3,
            },
        ] {
            let mut sink = Collect::default();
            read_range(&path, &name, range, &mut sink);
            assert!(sink.errors.is_empty(), "{:?}", sink.errors);
            // Deferred parts come after the range's other events here; their order
            // among events is kept by the real feed, not by this collector.
            got.events.extend(sink.events);
            for d in sink.deferred {
                d.finish(&mut mapper, &mut got);
            }
        }
        mapper.finish(&mut got);
        assert!(got.errors.is_empty(), "{:?}", got.errors);
        let key = |events: &[Event]| {
            let mut v: Vec<String> = events.iter().map(|e| format!("{e:?}")).collect();
            v.sort();
            v
        };
        assert_eq!(key(&got.events), key(&whole.events));
    }

    /// Events (debug text, sorted) and error count of `text` read whole and read as
    /// two ranges cut at each line start: they must be the same for every cut.
    fn whole_and_every_two_range_read(text: &str) -> (Vec<String>, usize) {
        let key = |events: &[Event]| {
            let mut v: Vec<String> = events.iter().map(|e| format!("{e:?}")).collect();
            v.sort();
            v
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        std::fs::write(&path, text).unwrap();
        let name: Arc<str> = Arc::from("x.json");
        let mut whole = crate::sources::CollectingSink::default();
        super::super::read_json(
            &name,
            Box::new(std::io::BufReader::new(File::open(&path).unwrap())),
            &mut whole,
        );
        let expected = (key(&whole.events), whole.errors.len());
        let len = text.len() as u64;
        for (line, (at, _)) in text.match_indices('\n').enumerate() {
            let cut = at as u64 + 1;
            let mut mapper = ordered_mapper(&name);
            let mut got = crate::sources::CollectingSink::default();
            let ranges = [(0, cut, 1), (cut, len, line as u64 + 2)];
            for (start, end, first_line) in ranges {
                let range = Range {
                    start,
                    end,
                    first_line,
                };
                let mut sink = Collect::default();
                read_range(&path, &name, range, &mut sink);
                got.events.extend(sink.events);
                got.errors.extend(sink.errors);
                for d in sink.deferred {
                    d.finish(&mut mapper, &mut got);
                }
            }
            mapper.finish(&mut got);
            let ranged = (key(&got.events), got.errors.len());
            assert_eq!(ranged, expected, "cut after line {}", line + 1);
        }
        expected
    }

    #[test]
    fn arrays_between_lines_read_the_same_from_any_line() {
        // An attacker's mix of JSON Lines and array punctuation: an array opened on
        // one line must not change how a later line reads (it did: `,{…}` was an
        // element for the whole read and stray text for a range starting inside).
        let sysmon = |pid: u32| {
            format!(
                r#"{{"EventID":1,"SourceName":"Microsoft-Windows-Sysmon","Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"h","Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd /c whoami","ProcessId":"{pid}"}}"#
            )
        };
        let text = format!(
            "{{\"EventID\":5158}}\n[\n,{}\n{}],\n[{}]\n]\n{}\n",
            sysmon(1),
            sysmon(2),
            sysmon(3),
            sysmon(4)
        );
        let (events, errors) = whole_and_every_two_range_read(&text);
        assert_eq!((events.len(), errors), (4, 0), "{events:#?}");
        // A line that is not JSON stays an error, the same from every start.
        let bad = format!("{}\nnot json\n{}\n", sysmon(1), sysmon(2));
        let (events, errors) = whole_and_every_two_range_read(&bad);
        assert_eq!((events.len(), errors), (2, 1));
    }

    #[test]
    fn only_files_read_as_json_lines_are_split() {
        assert!(reads_as_json_lines(b"{\"EventID\":1}\n{\"EventID\":2}\n"));
        assert!(reads_as_json_lines(
            b"\xEF\xBB\xBF  \n{\"EventID\":1} \r\n{\"EventID\":2"
        ));
        // Pretty-printed objects, arrays, and a first object cut by the head.
        assert!(!reads_as_json_lines(
            b"{\n  \"EventID\": 1\n}\n{\"EventID\":2}\n"
        ));
        assert!(!reads_as_json_lines(
            b"[{\"EventID\":1},\n{\"EventID\":2}]\n"
        ));
        assert!(!reads_as_json_lines(b"[\n{\"EventID\":1}\n]\n"));
        assert!(!reads_as_json_lines(b"{\"EventID\":1,\"x\":\"abc"));
        assert!(!reads_as_json_lines(b"not json\n{\"EventID\":1}\n"));
        assert!(!reads_as_json_lines(b""));
    }
}
