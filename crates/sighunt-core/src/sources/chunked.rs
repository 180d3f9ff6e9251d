//! Parallel reading of one large text file: split it into byte ranges at line
//! boundaries and parse the ranges on several threads.
//!
//! Records of one audit event may sit on both sides of a range edge. Each range
//! therefore looks a little behind its start (records of events that began in the
//! previous range are that range's, and are skipped here) and a little past its end
//! (to complete the events it began). Line numbers are exact: a first, cheap pass
//! counts the newlines of every range.
//!
//! Detector state crosses edges: the ranges' events are detected by one engine in
//! file order (`engine::ordered`), so `-jN` finds what `-j1` finds. A file is cut
//! into ranges of about [`RANGE_BYTES`], more than there are threads, so that the
//! workers all parse ahead of the engine; a file below [`MIN_CHUNKED_BYTES`] is
//! never split.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use crate::input::InputError;
use crate::input::lines::{Line, LineReader};
use crate::sources::{EventSink, LineParser, MAX_LINE_BYTES, feed_lines};

/// Files smaller than this are read by one thread.
pub const MIN_CHUNKED_BYTES: u64 = 64 * 1024 * 1024;
/// About how large a range is when a file is split: small enough that each of a
/// few workers can parse its whole range ahead of the engine (see
/// [`crate::engine::ordered`]), large enough that the look-behind and look-ahead
/// windows at its edges cost little.
pub const RANGE_BYTES: u64 = 16 * 1024 * 1024;
/// How far a range looks behind its start and past its end for the records of events
/// that straddle the edge (auditd writes an event's records together; collectors
/// reorder them by a few lines at most).
pub const EDGE_WINDOW: u64 = 1024 * 1024;

/// One range of a file: `[start, end)`, starting at a line start, and the number of
/// the line it starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub end: u64,
    pub first_line: u64,
}

/// Splits the file into ranges of about [`RANGE_BYTES`] (at least `threads` of
/// them) at line boundaries and numbers their first lines; `None` when there is
/// one thread or the file is too small to be worth it.
pub fn plan(path: &Path, threads: usize) -> io::Result<Option<Vec<Range>>> {
    let len = std::fs::metadata(path)?.len();
    if threads < 2 || len < MIN_CHUNKED_BYTES {
        return Ok(None);
    }
    let parts = threads.max(len.div_ceil(RANGE_BYTES) as usize);
    let mut file = File::open(path)?;
    let mut bounds = vec![0u64];
    for i in 1..parts as u64 {
        let guess = len * i / parts as u64;
        let at = next_line_start(&mut file, guess)?;
        if at > *bounds.last().unwrap_or(&0) && at < len {
            bounds.push(at);
        }
    }
    bounds.push(len);
    let spans: Vec<(u64, u64)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    // Count each range's newlines in parallel so every range knows its first line.
    use rayon::prelude::*;
    let counts = spans
        .par_iter()
        .map(|&(s, e)| count_newlines(path, s, e))
        .collect::<io::Result<Vec<u64>>>()?;
    let mut line = 1;
    let mut ranges = Vec::with_capacity(spans.len());
    for (&(start, end), n) in spans.iter().zip(counts) {
        ranges.push(Range {
            start,
            end,
            first_line: line,
        });
        line += n;
    }
    Ok(Some(ranges))
}

/// The offset just after the first newline at or after `from`.
fn next_line_start(file: &mut File, from: u64) -> io::Result<u64> {
    file.seek(SeekFrom::Start(from))?;
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut pos = from;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(pos);
        }
        if let Some(i) = memchr::memchr(b'\n', buf) {
            return Ok(pos + i as u64 + 1);
        }
        let n = buf.len();
        pos += n as u64;
        reader.consume(n);
    }
}

fn count_newlines(path: &Path, start: u64, end: u64) -> io::Result<u64> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(start))?;
    let mut reader = BufReader::with_capacity(1024 * 1024, file.take(end - start));
    let mut n = 0u64;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(n);
        }
        n += memchr::memchr_iter(b'\n', buf).count() as u64;
        let len = buf.len();
        reader.consume(len);
    }
}

/// Parses one range with `parser`: the look-behind window marks foreign records,
/// the range itself is parsed, and the look-ahead window completes open events.
pub fn read_range(
    path: &Path,
    name: &Arc<str>,
    range: Range,
    parser: &mut dyn LineParser,
    sink: &mut dyn EventSink,
) {
    let open = |at: u64, len: u64| -> io::Result<LineReader<BufReader<io::Take<File>>>> {
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(at))?;
        Ok(LineReader::new(
            BufReader::with_capacity(256 * 1024, file.take(len)),
            MAX_LINE_BYTES,
        ))
    };
    let report = |sink: &mut dyn EventSink, e: io::Error| {
        sink.error(InputError::new(
            name,
            Some(format!("byte {}", range.start)),
            format!("read error: {e}"),
        ));
    };
    if range.start > 0 {
        let behind = range.start.saturating_sub(EDGE_WINDOW);
        match open(behind, range.start - behind) {
            Ok(mut lines) => {
                let mut first = behind > 0; // the first line is cut: skip it
                while let Ok(Some(line)) = lines.next_line() {
                    if let Line::Text(text) = line {
                        if !first {
                            parser.foreign_line(text);
                        }
                    }
                    first = false;
                }
            }
            Err(e) => return report(sink, e),
        }
    }
    match open(range.start, range.end - range.start) {
        Ok(mut lines) => feed_lines(&mut lines, name, parser, range.first_line, sink),
        Err(e) => return report(sink, e),
    }
    if let Ok(mut lines) = open(range.end, EDGE_WINDOW) {
        let mut no = u64::MAX / 2; // records here are another range's: numbers unused
        while let Ok(Some(Line::Text(text))) = lines.next_line() {
            no += 1;
            if !parser.continuation_line(text, no, sink) {
                break;
            }
        }
    }
    parser.finish(sink);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::sources::auditd::AuditParser;

    use crate::sources::CollectingSink as Collect;

    #[test]
    fn ranges_split_at_lines_and_events_straddling_an_edge_are_read_once() {
        // 3000 exec events whose records are written interleaved pairwise, so that
        // some events straddle every edge.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let mut text = String::new();
        for i in 0..3000u32 {
            let (a, b) = (2 * i + 1, 2 * i + 2);
            for serial in [a, b] {
                text.push_str(&format!("type=SYSCALL msg=audit(1700000000.{:03}:{serial}): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid={serial} uid=0 comm=\"x\" exe=\"/bin/x\" key=(null)\n", i % 1000));
            }
            for serial in [a, b] {
                text.push_str(&format!("type=EXECVE msg=audit(1700000000.{:03}:{serial}): argc=2 a0=\"x\" a1=\"{serial}\"\n", i % 1000));
            }
            for serial in [b, a] {
                text.push_str(&format!(
                    "type=PROCTITLE msg=audit(1700000000.{:03}:{serial}): proctitle=\"x\"\n",
                    i % 1000
                ));
            }
        }
        std::fs::write(&path, &text).unwrap();
        let len = text.len() as u64;
        // Plan by hand with small ranges (plan() refuses small files).
        let mut ranges = Vec::new();
        let mut file = File::open(&path).unwrap();
        let mut starts = vec![0];
        for k in 1..7 {
            starts.push(next_line_start(&mut file, len * k / 7).unwrap());
        }
        starts.push(len);
        let mut line = 1;
        for w in starts.windows(2) {
            ranges.push(Range {
                start: w[0],
                end: w[1],
                first_line: line,
            });
            line += count_newlines(&path, w[0], w[1]).unwrap();
        }
        assert_eq!(line - 1, 6 * 3000);
        let name: Arc<str> = Arc::from("audit.log");
        let mut pids = Vec::new();
        for r in ranges {
            let mut parser = AuditParser::new(name.clone());
            let mut sink = Collect::default();
            read_range(&path, &name, r, &mut parser, &mut sink);
            assert!(sink.errors.is_empty(), "{:?}", sink.errors);
            for e in sink.events {
                let Event::Process(p) = e else { panic!() };
                assert_eq!(
                    p.argv[1],
                    p.pid.unwrap().to_string(),
                    "records joined right"
                );
                let crate::event::Position::Line(n) = p.provenance.position else {
                    panic!()
                };
                let expect = text.lines().nth(n as usize - 1).unwrap();
                assert!(
                    expect.contains(&format!(":{})", p.pid.unwrap())),
                    "line {n} is the event's first record"
                );
                pids.push(p.pid.unwrap());
            }
        }
        pids.sort_unstable();
        assert_eq!(
            pids,
            (1..=6000).collect::<Vec<u32>>(),
            "every event exactly once"
        );
    }
}
